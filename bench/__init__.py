"""Benchmarks: ``make bench`` (``python -m bench``) prints one line per figure."""
