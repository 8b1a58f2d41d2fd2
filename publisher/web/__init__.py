"""The web app: public pages and feed endpoints (thin: every decision lives in the domain)."""
