"""scripts/mutate.py stays in step with the code: every mutation's original snippet occurs exactly once, and a
snippet that drifted is an error, never a silently skipped mutation."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO


def mutate_module():
    spec = importlib.util.spec_from_file_location("mutate", REPO / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module  # dataclasses resolve their module while the class is made
    spec.loader.exec_module(module)
    return module


def test_every_mutation_snippet_occurs_exactly_once_and_its_replacement_changes_the_code():
    mutate = mutate_module()
    assert len(mutate.MUTATIONS) >= 10
    for mutation in mutate.MUTATIONS:
        text = (REPO / mutation.path).read_text(encoding="utf-8")
        assert text.count(mutation.original) == 1, mutation.name
        assert mutation.replacement != mutation.original
    for module in mutate.TESTS:
        assert (REPO / module).is_file(), module


def test_a_drifted_snippet_is_an_error(tmp_path):
    mutate = mutate_module()
    (tmp_path / "x.py").write_text("a = 1\n")
    with pytest.raises(SystemExit, match="occurs 0 times"):
        mutate.apply(tmp_path, mutate.Mutation("drifted", "x.py", "a = 2", "a = 3"))
    mutate.apply(tmp_path, mutate.Mutation("present", "x.py", "a = 1", "a = 3"))
    assert (tmp_path / "x.py").read_text() == "a = 3\n"
