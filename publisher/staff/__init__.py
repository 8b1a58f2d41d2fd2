"""Staff: accounts for the admin pages and bearer tokens for the CMS API."""
