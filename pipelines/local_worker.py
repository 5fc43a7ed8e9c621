"""A DirectRunner ``multi_processing`` worker process started by LocalRunner: Beam's ``sdk_worker_main``, without
the modules its launcher hid.

``python -m pipelines.local_worker MODULE ...`` hides each MODULE (``sys.modules[MODULE] = None``: an ImportError
Beam's imports of optional I/O already expect) and runs ``apache_beam.runners.worker.sdk_worker_main`` as
``__main__``, as Beam's own command line does. A worker imports Beam before its first bundle; without GCS,
BigQuery, S3 and MongoDB I/O (and IPython, which Beam asks about) that costs about 1 s of CPU less per worker.
"""

from __future__ import annotations

import runpy
import sys

WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"


def hide(modules) -> None:
    """Hide ``modules`` not imported yet. Beam's MongoDB I/O warns when it finds no bson: that logger is quieted
    (to errors) when bson is hidden, since the absence is deliberate."""
    for module in modules:
        sys.modules.setdefault(module, None)
    if sys.modules.get("bson", ()) is None:
        import logging

        logging.getLogger("apache_beam.io.mongodbio").setLevel(logging.ERROR)


def main(argv: list[str]) -> None:
    hide(argv)
    del sys.argv[1:]
    runpy.run_module(WORKER_MAIN, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
