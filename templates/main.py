"""Flex Template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE): template parameters -> the deidflow command, run."""

import logging
import sys

from pipelines.commands.template import launch_main

if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)  # the launcher's log is the job's launch log: Beam's progress helps
    sys.exit(launch_main(sys.argv[1:]))
