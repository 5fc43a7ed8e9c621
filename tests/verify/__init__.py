"""Tests for deidflow verify, the run report, progress and dry runs (issue 10)."""
