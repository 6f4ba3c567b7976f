"""Hostile strategy files: each is mounted into a sandbox and must be contained."""
