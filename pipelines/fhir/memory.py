"""Return freed multi-megabyte buffers to the OS: a fixed malloc mmap threshold for the runner and its workers.

Every stage boundary of the local runner passes its data as gRPC messages of up to ~10 MB (a GroupByKey's
whole partition for a worker as one), decoded and freed once handed on. glibc raises its mmap threshold to the
size of each large block freed (up to 32 MB), so after the first few such messages every later one comes from
the heap, where freed space stays resident. A fixed threshold (glibc's initial 128 KiB; setting it also stops
the raising) keeps each large block a mapping of its own, unmapped when freed: the peak then follows the
messages in flight, not every size the run has seen. Measured with bench/scale.py (keyed join, 4x a
1,000-patient store): launcher 316-325 -> 254 MB, workers 359-362 -> 324-329 MB. A no-op where the C library
has no ``mallopt`` (not glibc).
"""

from __future__ import annotations

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h> parameter number
MMAP_THRESHOLD = 128 << 10  # glibc's own initial value

_done = False


def fix_mmap_threshold() -> bool:
    """Set glibc's mmap threshold once a process (idempotent); whether it is set."""
    global _done
    if _done:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return _done
