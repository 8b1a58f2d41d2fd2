"""The resident register: mailing lists, subscribers, consent, suppression, CSV in and out."""
