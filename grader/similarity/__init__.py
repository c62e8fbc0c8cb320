"""Copied-code evidence: normalized per-function fingerprints calibrated against the class."""
