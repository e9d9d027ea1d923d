"""Imports of xlsx and CSV files: reading, per-resource specs, templates, the job runner."""
