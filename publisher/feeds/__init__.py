"""Feeds for aggregators: RSS 2.0 and Atom 1.0 (feedgen), JSON Feed 1.1, archive paging,
a cache keyed on the store's last change, the WebSub ping and the static export.

Every format is built from the same :class:`~publisher.feeds.models.Entry`, made from an
article in one place (:func:`~publisher.feeds.entries.entry_from_article`).
"""
