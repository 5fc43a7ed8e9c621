"""Key claims (issue 18 item 4): a destination is bound to one key atomically, before anything is written to it.

Two runs of different keys started at the same instant into one empty destination: one runs, the other is a
launch error having written nothing. A DICOMweb destination is bound through a record under the store root.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading

import pytest

from pipelines import launch
from pipelines.stores import store_root
from tests.conftest import DATASET, DEST, REPO, SOURCE, run_cli, summary_from_stdout
from tests.faults.conftest import tree
from transforms.errors import LaunchError

pytestmark = pytest.mark.pipeline


def key_files(tmp_path, *letters: str):
    out = []
    for letter in letters:
        path = tmp_path / f"{letter}.key"
        path.write_text(base64.b64encode(letter.encode() * 32).decode() + "\n")
        path.chmod(0o600)
        out.append(path)
    return out


def data_files(store):
    return sorted(str(p.relative_to(store)) for p in store.rglob("*")
                  if p.is_file() and p.relative_to(store).parts[0] != ".deidflow")


def test_create_exclusive_has_one_winner(tmp_path):
    # Catches a check-then-write claim (exists(), then write): several writers would all "win".
    path = str(tmp_path / "store" / ".deidflow" / "key.json")
    barrier, results = threading.Barrier(12), {}

    def claim(i):
        barrier.wait()
        results[i] = store_root.create_exclusive(path, f"writer {i}\n".encode())

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [i for i, won in results.items() if won]
    assert len(winners) == 1
    assert open(path, "rb").read() == f"writer {winners[0]}\n".encode()
    assert os.listdir(os.path.dirname(path)) == ["key.json"]  # no temporary file left


def test_two_keys_at_the_same_instant_into_an_empty_destination(root, tmp_path):
    # Catches the launch check reading the destination (empty, no key recorded) and both runs going on to write
    # their copies: 8 instances under two keys, store.json naming whichever wrote last.
    first, second = key_files(tmp_path, "A", "B")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "dicom-stores", "deidentify", SOURCE,
                               "--destination-store", DEST, "--store-root", str(root), "--quiet", "--key-file",
                               str(key)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for key in (first, second)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [err[-1500:] for _, err in outs]
    (won_out, _), = [o for p, o in zip(procs, outs) if p.returncode == 0]
    (lost_out, lost_err), = [o for p, o in zip(procs, outs) if p.returncode == 2]
    assert "--replace-destination" in lost_err and lost_out == ""
    dest = root / DEST
    fingerprint = summary_from_stdout(won_out)["deidflow"]["keyFingerprint"]
    assert len(data_files(dest)) == 4  # one copy
    assert json.loads((dest / ".deidflow/key.json").read_text())["keyFingerprint"] == fingerprint
    assert json.loads((dest / ".deidflow/store.json").read_text())["keyFingerprint"] == fingerprint
    assert len(os.listdir(dest / ".deidflow/runs")) == 1  # the loser recorded no run


def test_a_bound_destination_refuses_another_key_before_any_data(root, tmp_path):
    # Catches "no data yet: any key may rebind it": the first run may still be building its pipeline.
    first, second = key_files(tmp_path, "A", "B")

    def plan(key, **options):
        return launch.plan_store_deidentify("dicomStores", SOURCE, DEST, str(root), None, str(key), **options)

    plan(first)
    assert data_files(root / DEST) == []
    before = tree(root)
    with pytest.raises(LaunchError, match="bound to"):
        plan(second)
    plan(second, dry_run=True, replace_destination=True)
    assert tree(root) == before
    fingerprint = plan(second, replace_destination=True).keys.fingerprint
    assert launch.recorded_fingerprint(str(root / DEST)) == fingerprint


def test_two_dataset_runs_of_different_keys_into_one_new_dataset(root, tmp_path):
    # Catches the destination dataset's marker written over (both runs passed "does not exist" before either
    # created it): the second run would go on writing its copy into the first one's stores.
    from pipelines import dataset

    first, second = key_files(tmp_path, "A", "B")
    out = "projects/p1/locations/us/datasets/out"
    plans = [dataset.plan_dataset_deidentify(DATASET, out, str(root), None, str(key)) for key in (first, second)]
    dataset.create_destination(str(root), plans[0])
    before = tree(root)
    with pytest.raises(LaunchError, match="ALREADY_EXISTS"):
        dataset.create_destination(str(root), plans[1])
    assert tree(root) == before
    store = str(root / out / "dicomStores" / "src")
    assert launch.recorded_fingerprint(store) == plans[0].keys.fingerprint
    with pytest.raises(LaunchError, match="bound to"):  # a store claimed by one run refuses the other's key
        launch.create_store(store, "dicomStores", {launch.KEY_FINGERPRINT: plans[1].keys.fingerprint})


def test_gcs_claim_is_conditional(gcs):
    # Catches a gs:// claim written without a precondition. The emulator ignores ifGenerationMatch, so the second
    # writer is refused here by the existence check; on Cloud Storage the precondition settles a true race.
    path = gcs.uri("root", "store", ".deidflow", "key.json")
    assert store_root.create_exclusive(path, b'{"keyFingerprint": "a"}\n')
    assert not store_root.create_exclusive(path, b'{"keyFingerprint": "b"}\n')
    assert store_root.read_json(path) == {"keyFingerprint": "a"}

    class Refusing:
        def exists(self):
            return False

        def upload_from_string(self, data, content_type=None, if_generation_match=None):
            from google.api_core.exceptions import PreconditionFailed

            assert if_generation_match == 0
            raise PreconditionFailed("412")

    class Bucket:
        def blob(self, name):
            return Refusing()

    class Client:
        def bucket(self, name):
            return Bucket()

    import pipelines.stores.gcs as gcs_module

    real = gcs_module.storage_client
    gcs_module.storage_client = lambda project=None: Client()
    try:
        assert not store_root.create_exclusive(gcs.uri("root", "other", "key.json"), b"{}")
    finally:
        gcs_module.storage_client = real


def test_dicomweb_destination_refuses_another_key(orthanc_factory, root, tmp_path):
    # Catches a DICOMweb destination with no key check: a second key stored a second copy of every instance.
    server = orthanc_factory()
    first, second = key_files(tmp_path, "A", "B")
    url_with_credentials = server.url.replace("http://", "http://someone:secret@") + "/"

    def deid(key, url=server.url, *extra):
        return run_cli("dicom-stores", "deidentify", SOURCE, "--destination-dicomweb", url, "--store-root",
                       str(root), "--quiet", "--key-file", str(key), *extra)

    def stored():
        import requests

        return len(requests.get(f"{server.base}/instances", timeout=10).json())

    assert deid(first).returncode == 0
    assert stored() == 4
    before = tree(root)
    refused = deid(second, url_with_credentials)  # the same destination, however spelled
    assert refused.returncode == 2 and "--replace-destination" in refused.stderr, refused.stderr[-1500:]
    assert "secret" not in refused.stderr
    assert tree(root) == before and stored() == 4
    records = list((root / ".deidflow" / "dicomweb-destinations").iterdir())
    assert len(records) == 1 and "secret" not in records[0].read_text()
    assert deid(first, url_with_credentials).returncode == 0 and stored() == 4  # same key: same instances
    replaced = deid(second, server.url, "--replace-destination")
    assert replaced.returncode == 0, replaced.stderr[-1500:]
    assert json.loads(records[0].read_text())["keyFingerprint"] == \
        summary_from_stdout(replaced.stdout)["deidflow"]["keyFingerprint"]
    assert deid(first).returncode == 2  # now bound to the second key
