"""Autograder for deep-learning assignments: hidden tests in a trusted process, student code
in a sandboxed worker. Kept import-light: the sandboxed worker imports this package too."""

__version__ = "0.1.0"
