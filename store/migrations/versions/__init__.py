"""Revisions of the core store schema, oldest first by their ``down_revision`` chain."""
