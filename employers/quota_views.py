"""L. 68/1999 quota pages and API (being written)."""
