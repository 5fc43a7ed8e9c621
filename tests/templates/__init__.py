"""Tests for issue 8: Flex Template, portable runners, incremental runs, run records."""
