"""The web app: public pages, feeds, the archive, residents' pages, the admin and the API.

Thin: every decision lives in the domain packages; routes read the request and render.
"""
