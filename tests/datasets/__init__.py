"""Tests for dataset-level runs, config delivery, filters and store management (issue 6)."""
