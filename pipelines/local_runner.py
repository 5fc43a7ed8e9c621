"""The runner deidflow uses when none is named, or when ``--runner DirectRunner`` is: Beam's portable FnApiRunner.

Beam 2.77's DirectRunner first tries the Prism runner, which it downloads from GitHub at every launch (a
~0.3 s failed lookup offline; online, a different runner from the one deidflow is tested on, which ignores
``--direct_num_workers``). LocalRunner goes straight to the FnApiRunner the DirectRunner falls back to, built
the same way, so ``--direct_num_workers`` and ``--direct_running_mode`` work as Beam documents them. Name
``--runner PrismRunner`` to use Prism.
"""

from __future__ import annotations

from apache_beam.runners.runner import PipelineRunner

RUNNER_PATH = "pipelines.local_runner.LocalRunner"
DIRECT_RUNNER_NAMES = {"direct", "directrunner", "switchingdirectrunner"}


class LocalRunner(PipelineRunner):
    def run_pipeline(self, pipeline, options):
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return fn_runner.FnApiRunner(provision_info=provision).run_pipeline(pipeline, options)


def with_local_runner(beam_args: list[str]) -> list[str]:
    """Beam arguments with ``--runner`` set to LocalRunner when it is absent or names the DirectRunner."""
    from pipelines.launch import split_runner

    runner, args = split_runner(beam_args)
    if runner is None or runner.lower() in DIRECT_RUNNER_NAMES:
        runner = RUNNER_PATH
    return [*args, f"--runner={runner}"]
