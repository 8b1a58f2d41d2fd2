"""Articles: the store of news items, their import formats and sanitising."""
