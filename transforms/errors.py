"""Exception types for each layer; each carries its exit code or dead-letter code."""

from __future__ import annotations


class DeidflowError(Exception):
    """Base class. Messages never contain data values, only tags, fields and paths."""

    exit_code = 1


class ConfigError(DeidflowError):
    """The DeidentifyConfig (or a CLI option) is invalid. Raised before any pipeline is built."""

    exit_code = 2

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class NotSupportedYet(ConfigError):
    """A config field that parses but whose behaviour this build does not deliver."""

    def __init__(self, path: str, detail: str = ""):
        super().__init__(path, "not supported yet" + (f" ({detail})" if detail else ""))
        self.args = (f"not supported yet: {path}" + (f" ({detail})" if detail else ""),)

    def __str__(self) -> str:
        return self.args[0]


class LaunchError(DeidflowError):
    """A launch-time rule failed (resource names, projects, destinations). Nothing was written."""

    exit_code = 2


class DeidentifyError(DeidflowError):
    """One element could not be de-identified. Becomes an error record; the run goes on.

    ``code`` is a google.rpc.Code name (INVALID_ARGUMENT, DATA_LOSS, ...).
    """

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
