"""Start-up (issue 21): warm multi_processing workers, worker counts read from Beam arguments, Beam options parsed
once per view, the DoFn state scan cached per class, and --help without Beam."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions, TypeOptions
from apache_beam.transforms import userstate
from apache_beam.transforms.core import CallableWrapperDoFn

from pipelines import cli, local_worker
from pipelines.local_runner import LaunchOptions, launch_options
from tests.conftest import DATASET, DEST, REPO, SOURCE, store_files, write_store
from transforms.dicom.sample import sample_store_files

WORKERS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
STARTED = [*WORKERS, "--in-process-below", "0"]  # the workers even for these small stores (runner_choice)


@pytest.mark.parametrize("beam_args, count", [
    ([], 0),
    (["--direct_num_workers", "2"], 0),  # Beam runs in_memory unless multi_processing is named
    (WORKERS, 2),
    (["--direct_num_workers=3", "--direct_running_mode=multi_processing"], 3),
    (["--direct_running_mode", "multi_processing"], 1),
    (["--direct_num_workers", "0", "--direct_running_mode", "multi_processing"], os.cpu_count()),
    ([*WORKERS, "--runner", "DirectRunner"], 2),
    ([*WORKERS, "--runner=pipelines.local_runner.LocalRunner"], 2),
    ([*WORKERS, "--runner", "DataflowRunner"], 0),  # another runner starts no local worker
    ([*WORKERS, "--runner", "PrismRunner"], 0),
    (["--direct_num_workers", "two", "--direct_running_mode", "multi_processing"], 0),  # Beam's parser will say
    (["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"], 0),
])
def test_local_worker_count_reads_beam_arguments_as_beam_does(beam_args, count):
    assert local_worker.local_worker_count(beam_args) == count


@pytest.fixture
def dicom_root(tmp_path):
    write_store(tmp_path / "stores", SOURCE, dict(sample_store_files(patients=2, studies=1, series=1, instances=2)))
    return tmp_path / "stores"


@pytest.fixture
def started(monkeypatch):
    """The warm worker processes a command starts."""
    processes: list = []
    original = local_worker.start_warm_workers

    def spy(count, preload):
        original(count, preload)
        processes.extend(local_worker._warm)

    monkeypatch.setattr(local_worker, "start_warm_workers", spy)
    return processes


def _deidentify(root, key_file, dest, *beam_args) -> int:
    return cli.main(["dicom-stores", "deidentify", SOURCE, "--destination-store", dest, "--store-root", str(root),
                     "--key-file", str(key_file), "--quiet", *beam_args])


def test_warm_workers_run_the_pipeline_and_write_the_same_bytes(dicom_root, key_file, started, capsys):
    assert _deidentify(dicom_root, key_file, DEST) == 0  # in process: no worker started
    assert started == []
    parallel = f"{DATASET}/dicomStores/parallel"
    assert _deidentify(dicom_root, key_file, parallel, *STARTED) == 0
    assert len(started) == 2
    # each ran a Beam worker to its end (exit 0); a warm worker the runner did not claim is killed (-9)
    assert [p.wait(timeout=60) for p in started] == [0, 0]
    assert local_worker.warm_workers_left() == 0
    reference = store_files(dicom_root / DEST)
    assert len(reference) == 4
    assert store_files(dicom_root / parallel) == reference


def test_a_launch_error_ends_the_warm_workers_and_writes_nothing(dicom_root, key_file, started, capsys):
    other_project = "projects/other/locations/l/datasets/d/dicomStores/out"
    assert _deidentify(dicom_root, key_file, other_project, *STARTED) == 2
    assert "launch error" in capsys.readouterr().err
    assert len(started) == 2
    assert all(p.returncode is not None for p in started)  # ended, not left importing Beam for nothing
    assert local_worker.warm_workers_left() == 0
    assert not (dicom_root / "projects" / "other").exists()


def test_dry_run_starts_no_warm_worker(dicom_root, key_file, started, capsys):
    assert _deidentify(dicom_root, key_file, DEST, "--dry-run", *STARTED) == 0
    assert started == []


def _probe(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported before it)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_worker_command_line_hides_what_the_launcher_hid():
    printed = _probe("from pipelines import cli, local_worker\ncli.hide_unused_gcp_modules([])\n"
                     "cli.hide_never_used_modules()\nprint(' '.join(local_worker.command_line()[3:]))\n")
    assert printed.split() == ["apache_beam.io.gcp.bigquery", "apache_beam.io.gcp.gcsio",
                                  "apache_beam.io.gcp.gcsfilesystem", "apache_beam.io.aws.s3filesystem", "bson",
                                  "IPython"]


def test_help_and_argument_parsing_do_not_import_beam():
    printed = _probe("import sys\nfrom pipelines import cli\n"
                     "cli.build_parser().parse_known_args(['runs', 'list', 'x'])\nprint('apache_beam' in sys.modules)\n")
    assert printed.strip() == "False"


def test_launch_options_views_share_values_and_see_later_changes():
    options = LaunchOptions(["--direct_num_workers=2", "--pipeline_type_check"])
    assert options.view_as(DirectOptions).direct_num_workers == 2
    assert options.view_as(DirectOptions).direct_num_workers == 2  # a second view, from the parsed namespace
    options.view_as(StandardOptions).runner = "SomeRunner"
    assert options.view_as(StandardOptions).runner == "SomeRunner"
    assert options.get_all_options()["runner"] == "SomeRunner"
    options.view_as(TypeOptions).pipeline_type_check = False
    assert options.view_as(TypeOptions).pipeline_type_check is False
    copied = copy.deepcopy(options)
    assert copied.view_as(StandardOptions).runner == "SomeRunner"
    copied.view_as(DirectOptions).direct_num_workers = 5
    assert options.view_as(DirectOptions).direct_num_workers == 2  # a copy's values are its own
    assert launch_options([]).view_as(StandardOptions).runner == "pipelines.local_runner.LocalRunner"


class _Holder:
    def stateful(self, element, count=beam.DoFn.StateParam(userstate.BagStateSpec("count", VarIntCoder()))):
        return [element]


def test_cached_dofn_scan_still_finds_state_of_a_bound_method():
    launch_options([])  # installs the cache
    plain = CallableWrapperDoFn(lambda element: [element])
    assert userstate.get_dofn_specs(plain) == (set(), set())
    state, timers = userstate.get_dofn_specs(CallableWrapperDoFn(_Holder().stateful))
    assert [spec.name for spec in state] == ["count"] and timers == set()
    assert userstate.get_dofn_specs(CallableWrapperDoFn(len)) == (set(), set())


class _Counter(beam.DoFn):
    def process(self, element):
        yield element


class _WithProperty(beam.DoFn):
    @property
    def stateful(self):
        return self._method  # a bound method, or not, per instance

    def process(self, element):
        yield element


def test_dofn_scan_is_cached_per_class_only_where_the_class_decides(monkeypatch):
    from apache_beam.transforms.core import CombineValuesDoFn

    from pipelines import local_runner

    launch_options([])  # installs the cache
    # Beam's own DoFn classes (here CombineValuesDoFn) and ours: the class decides; a test module's do not
    assert local_runner._specs_per_class(CombineValuesDoFn(None, beam.combiners.CountCombineFn(), False))
    assert not local_runner._specs_per_class(_Counter())
    monkeypatch.setattr(local_runner, "_CACHED_MODULES", ("tests.",))
    assert local_runner._specs_per_class(_Counter())
    assert userstate.get_dofn_specs(_Counter()) == (set(), set())
    # an instance holding a bound method (Beam's scan reads it) or a class with a property: asked every time,
    # and the state the instance brings is found although its class was answered before
    holder = _Counter()
    holder.extra = _Holder().stateful
    assert not local_runner._specs_per_class(holder)
    assert [spec.name for spec in userstate.get_dofn_specs(holder)[0]] == ["count"]
    plain = _WithProperty()
    plain._method = None
    assert not local_runner._specs_per_class(plain)
    assert userstate.get_dofn_specs(plain) == (set(), set())
    with_property = _WithProperty()
    with_property._method = _Holder().stateful
    assert [spec.name for spec in userstate.get_dofn_specs(with_property)[0]] == ["count"]


class _YieldsAndReturns(beam.DoFn):
    def process(self, element):
        if element:
            return [element]
        yield element


def test_yield_and_return_check_still_warns_once_cached():
    from apache_beam.transforms import core

    launch_options([])  # installs the cache
    for _ in range(2):  # the second answer is the cached one
        assert core._check_fn_use_yield_and_return(_YieldsAndReturns().process) is True
        assert core._check_fn_use_yield_and_return(_Counter().process) is False
        assert core._check_fn_use_yield_and_return(len) is False  # a builtin: asked as before
