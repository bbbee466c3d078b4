"""The OCDS 1.1 schema subset Ponte validates imports against (see README.md)."""
