"""Keeping an installation safe and moving it: backup archives, restore, and the copy of one
store into another (SQLite to PostgreSQL). Below ``cli``; progress goes out through callbacks.
"""
