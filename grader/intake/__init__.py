"""Submissions in: staging, notebooks, LMS identity."""
