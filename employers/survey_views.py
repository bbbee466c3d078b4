"""Needs survey pages (being written)."""
