"""publisher: newsletter and syndication publisher for a town hall."""

__version__ = "0.16.0"
