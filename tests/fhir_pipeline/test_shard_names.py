"""FHIR shard names derive from the source's resource name, not from how the store root is spelled."""

from __future__ import annotations

import os

import pytest

from pipelines.commands.sample_fhir import sample_files
from pipelines.fhir.shards import shard_tag
from pipelines.stores.fhir import source_tag
from tests.conftest import DATASET, write_store
from tests.templates.helpers import deidentify, files, key_file

COMMON = ("--reference-date", "2025-06-01")
NAME = f"{DATASET}/fhirStores/src"


@pytest.mark.parametrize("root", ["/data/stores", "/mnt/link/", "relative/stores", "gs://bucket/prefix"])
def test_the_tag_is_the_resource_names(root):
    assert shard_tag(f"{root.rstrip('/')}/{NAME}") == shard_tag(f"{root.rstrip('/')}/{NAME}/") == source_tag(NAME)


def test_a_folder_that_is_not_a_named_store_is_tagged_by_its_path():
    assert shard_tag("/exports/fhir-2024") == source_tag("/exports/fhir-2024")
    assert shard_tag("/a/fhirStores/s") != shard_tag("/b/fhirStores/s")


@pytest.mark.pipeline
def test_rerun_through_a_symlinked_store_root_replaces_the_same_shards(tmp_path):
    root = tmp_path / "stores"
    key = key_file(tmp_path)
    write_store(root, NAME, sample_files(2, 4, "ndjson"))
    first = deidentify(root, "src", "dst", "--key-file", str(key), *COMMON, kind="fhirStores")
    assert first.returncode == 0, first.stderr[-2000:]
    before = files(root, "fhirStores", "dst")
    assert before and all(f"-{source_tag(NAME)}-" in name for name in before)

    link = tmp_path / "link"
    os.symlink(root, link)
    # An earlier version's shard set of this source through the link (tagged by the path's hash): replaced too.
    legacy = root / DATASET / "fhirStores" / "dst" / f"Patient-{source_tag(str(link / NAME))}-00000-of-00001.ndjson"
    legacy.write_bytes(b'{"resourceType":"Patient","id":"old"}\n')
    again = deidentify(link, "src", "dst", "--key-file", str(key), *COMMON, kind="fhirStores")
    assert again.returncode == 0, again.stderr[-2000:]
    assert files(root, "fhirStores", "dst") == before  # one shard set, the same bytes: no second set, no legacy
