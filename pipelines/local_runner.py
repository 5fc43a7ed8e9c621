"""The runner deidflow uses when none is named, or when ``--runner DirectRunner`` is: Beam's portable FnApiRunner;
and the launcher's Beam options, built so that building a graph does not re-parse them for every transform.

Beam 2.77's DirectRunner first tries the Prism runner, which it downloads from GitHub at every launch (a
~0.3 s failed lookup offline; online, a different runner from the one deidflow is tested on, which ignores
``--direct_num_workers``). LocalRunner goes straight to the FnApiRunner the DirectRunner falls back to, built
the same way, so ``--direct_num_workers`` and ``--direct_running_mode`` work as Beam documents them. Name
``--runner PrismRunner`` to use Prism.
"""

from __future__ import annotations

import os
import subprocess
import threading
import types
from typing import Sequence

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineRunner

from pipelines.local_worker import DIRECT_RUNNER_NAMES

RUNNER_PATH = "pipelines.local_runner.LocalRunner"


class LocalRunner(PipelineRunner):
    def run_pipeline(self, pipeline, options):
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return _runner_class(fn_runner.FnApiRunner)(provision_info=provision).run_pipeline(pipeline, options)


WARM_URN = "deidflow:env:warm_subprocess:v1"  # a SUBPROCESS_SDK environment whose workers may be warm


def _runner_class(fn_api_runner):
    class Runner(fn_api_runner):
        """Beam's FnApiRunner, whose multi_processing workers start as pipelines.local_worker, or are the warm
        workers the launch started (Beam's own command line otherwise: the same worker, started the same way)."""

        def run_via_runner_api(self, pipeline_proto, options):
            import shlex
            import sys

            from apache_beam.portability import python_urns

            from pipelines import local_worker

            _register_warm_handler()
            beam_command = f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main".encode()
            for environment in pipeline_proto.components.environments.values():
                if environment.urn == python_urns.SUBPROCESS_SDK and environment.payload == beam_command:
                    environment.payload = ("exec " + shlex.join(local_worker.command_line())).encode()
                    environment.urn = WARM_URN
            try:
                return super().run_via_runner_api(pipeline_proto, options)
            finally:
                local_worker.stop_warm_workers()

    return Runner


def _register_warm_handler() -> None:
    """Beam's SubprocessSdkWorkerHandler for WARM_URN environments, whose worker is a warm one when one is left."""
    from apache_beam.runners.portability import local_job_service
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    if WARM_URN in worker_handlers.WorkerHandler._registered_environments:
        return

    class WarmSdkWorker(local_job_service.SubprocessSdkWorker):
        def run(self):
            from pipelines import local_worker

            def start(env):
                return local_worker.claim_warm_worker(env) or subprocess.Popen(self._worker_command_line,
                                                                                shell=True, env=env)

            _run_worker(self, start)

    @worker_handlers.WorkerHandler.register_environment(WARM_URN, bytes)
    class WarmSdkWorkerHandler(worker_handlers.SubprocessSdkWorkerHandler):
        def start_worker(self):
            self.worker = WarmSdkWorker(self._worker_command_line, self.control_address, self.provision_info,
                                        self.worker_id)
            self.worker_thread = threading.Thread(name="run_worker", target=self.worker.run)
            self.worker_thread.start()


def _run_worker(worker, start) -> None:
    """Beam's SubprocessSdkWorker.run (Beam 2.77), the worker process from ``start(env)`` instead of a Popen."""
    import grpc
    from apache_beam.portability.api import beam_fn_api_pb2_grpc, endpoints_pb2
    from apache_beam.runners.portability import local_job_service
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    from apache_beam.utils import thread_pool_executor
    from google.protobuf import json_format, text_format

    options = [("grpc.http2.max_pings_without_data", 0), ("grpc.http2.max_ping_strikes", 0)]
    logging_server = grpc.server(thread_pool_executor.shared_unbounded_instance(), options=options)
    logging_port = logging_server.add_insecure_port("[::]:0")
    logging_server.start()
    beam_fn_api_pb2_grpc.add_BeamFnLoggingServicer_to_server(local_job_service.BeamFnLoggingServicer(),
                                                             logging_server)
    env = dict(
        os.environ,
        CONTROL_API_SERVICE_DESCRIPTOR=text_format.MessageToString(
            endpoints_pb2.ApiServiceDescriptor(url=worker._control_address)),
        LOGGING_API_SERVICE_DESCRIPTOR=text_format.MessageToString(
            endpoints_pb2.ApiServiceDescriptor(url=f"localhost:{logging_port}")),
        PIPELINE_OPTIONS=json_format.MessageToJson(worker._provision_info.provision_info.pipeline_options))
    if worker._worker_id:
        env["WORKER_ID"] = worker._worker_id
    with worker_handlers.SUBPROCESS_LOCK:
        process = start(env)
    try:
        process.wait()
        if process.returncode:
            raise RuntimeError(f"Worker subprocess exited with return code {process.returncode}")
    finally:
        if process.poll() is None:
            process.kill()
        logging_server.stop(0)


def with_local_runner(beam_args: list[str]) -> list[str]:
    """Beam arguments with ``--runner`` set to LocalRunner when it is absent or names the DirectRunner."""
    from pipelines.launch import split_runner

    runner, args = split_runner(beam_args)
    if runner is None or runner.lower() in DIRECT_RUNNER_NAMES:
        runner = RUNNER_PATH
    return [*args, f"--runner={runner}"]


class LaunchOptions(PipelineOptions):
    """PipelineOptions whose views (``view_as(TypeOptions)``, ...) parse the flags once per options class.

    Beam asks for a view of the options several times for every transform it applies (type checks, result type
    inference): each ``view_as`` builds an argument parser for the class and parses every flag again, about a
    tenth of a small run's graph building. Parsing is a function of the class and the flags, so the parsed
    namespace is kept per class and every later view is made from it; views still share the one ``_all_options``
    dictionary as Beam's do, so a value set through any view is seen by all.
    """

    def view_as(self, cls):
        parsed = self.__dict__.setdefault("_parsed_views", {})
        key = (cls, tuple(self._flags or ()))
        namespace = parsed.get(key)
        if namespace is None:
            view = super().view_as(cls)
            parsed[key] = view._visible_options
            return view
        view = object.__new__(cls)
        view._flags = self._flags
        view._visible_options = namespace
        for name in view._visible_option_list():
            if name not in self._all_options:
                self._all_options[name] = getattr(namespace, name)
        view._all_options = self._all_options
        return view


def launch_options(beam_args: Sequence[str]) -> LaunchOptions:
    """The Beam options of a deidflow launch (LocalRunner when no runner, or DirectRunner, is named)."""
    _cache_dofn_specs()
    _cache_yield_and_return_check()
    return LaunchOptions(with_local_runner(list(beam_args)))


# Modules whose DoFn classes get their answer cached: ours, and Beam's own (CombineValuesDoFn, _MatchAllFn,
# _GlobalWindowsBatchingDoFn, _KeyWithNone, ...: four in ten of a dataset run's scans before they were cached).
_CACHED_MODULES = ("pipelines.", "transforms.", "apache_beam.")
_DOFN_METHODS = {"process", "setup", "start_bundle", "finish_bundle", "teardown"}


def _specs_per_class(dofn) -> bool:
    """Whether Beam's state and timer scan of ``dofn`` can only depend on its class: the scan reads every attribute
    of the object (``dir``) that is a bound method; one set on the instance would be the instance's own, and a
    property could answer differently per instance.

    Our DoFns and Beam's: unless the instance holds a bound method or replaced one of the DoFn methods, or the
    class has a property. Beam's CallableWrapperDoFn (every Map, FlatMap, Filter): its ``process`` is the wrapped
    callable, which the scan reads only when it is a bound method (then its ``_inspect_process`` looks at the
    callable's defaults); a function, lambda or builtin is passed over, so only the class's own methods are
    scanned."""
    from apache_beam.transforms.core import CallableWrapperDoFn

    cls = type(dofn)
    if any(isinstance(value, types.MethodType) for value in vars(dofn).values()):
        return False
    if cls is CallableWrapperDoFn:
        return True
    return (cls.__module__.startswith(_CACHED_MODULES) and not vars(dofn).keys() & _DOFN_METHODS
            and not _has_property(cls))


def _has_property(cls) -> bool:
    """Whether ``cls`` has a property of its own (Beam's DoFn's, which answer booleans, left out)."""
    from apache_beam.transforms.core import DoFn

    known = _PROPERTIES.get(cls)
    if known is None:
        known = _PROPERTIES[cls] = any(isinstance(value, property) for klass in cls.__mro__
                                       if klass not in DoFn.__mro__ for value in vars(klass).values())
    return known


_PROPERTIES: dict = {}


def _cache_dofn_specs() -> None:
    """Beam looks for state and timer parameters in every method of a DoFn (``inspect.signature`` of some 30
    methods) each time it validates, translates or runs a ParDo: over a second of a dataset run's start-up on a
    loaded machine, most of it for the Map and FlatMap wrappers. Where the answer can only depend on the class
    (``_specs_per_class``) it is computed once per class; every other DoFn is asked as before."""
    from apache_beam.transforms import userstate

    original = userstate.get_dofn_specs
    if getattr(original, "deidflow_cached", False):
        return
    answers: dict = {}

    def get_dofn_specs(dofn):
        if not _specs_per_class(dofn):
            return original(dofn)
        cls = type(dofn)
        known = answers.get(cls)
        if known is None:
            known = answers[cls] = original(dofn)
        return set(known[0]), set(known[1])

    get_dofn_specs.deidflow_cached = True
    userstate.get_dofn_specs = get_dofn_specs


def _cache_yield_and_return_check() -> None:
    """Every ParDo Beam builds reads the source of its DoFn's ``process`` (``inspect.getsourcelines``, tokenizing
    the module) to warn when it both yields and returns: a dataset graph's 78 ParDos read 28 methods. The answer
    is the source's, so it is kept per code object; a callable without one (a builtin, an object) is read as
    before."""
    from apache_beam.transforms import core

    original = core._check_fn_use_yield_and_return
    if getattr(original, "deidflow_cached", False):
        return
    answers: dict = {}

    def check(fn):
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is None:
            return original(fn)
        if code not in answers:
            answers[code] = original(fn)
        return answers[code]

    check.deidflow_cached = True
    core._check_fn_use_yield_and_return = check
