"""Process-wide malloc settings for a server that streams large request bodies (called by the entry points).

A request body reaches the app as buffers of 64–256 KiB, each allocated and freed within microseconds, a
hundred or so per 24 MB upload. glibc's defaults hand such memory back to the kernel as soon as it is freed
(``mmap``/``munmap`` above the mmap threshold, heap trimming above the trim threshold), so each new buffer is
page-faulted and zeroed again. Profiled, that was half the server's CPU time while receiving an upload;
keeping freed memory for reuse nearly tripled the receive rate (docs/benchmarks.md, "Media: upload notes").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt(3) parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Allocations below this come from the heap and are reused; larger ones (decoded images) still get their own
# mapping, returned to the kernel when freed.
MMAP_THRESHOLD = 8 * 1024 * 1024
# Free memory at the top of the heap kept for reuse before it is returned to the kernel.
TRIM_THRESHOLD = 64 * 1024 * 1024


def tune_for_large_bodies() -> bool:
    """Apply the thresholds above; False where the C library is not glibc (nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting either threshold also stops glibc from moving them itself
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
