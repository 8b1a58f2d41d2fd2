"""Delivery: the ledger, the SMTP sender and the development mail catcher."""
