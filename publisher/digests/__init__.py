"""Editions: choose articles for a list and period, compose, freeze, send, report."""
