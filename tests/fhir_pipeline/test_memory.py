"""Issue 21: the runner and its workers return freed multi-megabyte stage buffers to the OS (a fixed glibc mmap
threshold). Checked in a fresh interpreter with glibc's own account of its mapped blocks (``mallinfo2``)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import ctypes, sys
sys.path.insert(0, {root!r})
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
{setup}
for _ in range(3):
    block = bytearray(4 << 20)  # freed: glibc would raise its threshold past 4 MB
    del block
block = bytearray(4 << 20)
print(libc.mallinfo2().hblkhd >> 20)
"""
FIX = "from pipelines.fhir.memory import fix_mmap_threshold\nassert fix_mmap_threshold() and fix_mmap_threshold()"


def mapped_mb(setup: str) -> int:
    code = PROBE.format(root=str(ROOT), setup=setup)
    return int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc >= 2.33 only")
def test_large_blocks_stay_mapped_after_large_frees():
    # broken code caught: no mallopt call, a wrong parameter number, or a threshold above 4 MB: the last 4 MB
    # buffer then comes from the heap (0 MB mapped), as without the fix
    assert mapped_mb("") == 0  # the probe sees glibc's dynamic threshold at work
    assert mapped_mb(FIX) >= 4


STEPS = {
    "read": "from pipelines.fhir.read import ReadFhirFiles\nReadFhirFiles().setup()",
    "parse": "from pipelines.fhir.parse import ParseResources\nParseResources(None, None).setup()",
    "join": "from pipelines.fhir.join import DeidentifyWithSideInput\nDeidentifyWithSideInput(None, None).setup()",
}


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc >= 2.33 only")
@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_worker_step_sets_it(step):
    # broken code caught: a step a worker runs first (read, parse, de-identify) no longer fixing the threshold
    assert mapped_mb(STEPS[step]) >= 4
