"""Authoring: releasing assignments and exporting them to Gradescope."""
