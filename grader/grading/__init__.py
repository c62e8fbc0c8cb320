"""Grading: the trusted proxy, the pytest plugin, one submission and batches."""
