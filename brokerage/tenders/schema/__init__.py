"""The official OCDS 1.1.5 schema, extension patches and Ponte's socialClause (see README.md)."""
