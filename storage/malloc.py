"""The C allocator's setting for long-running processes: freed memory goes back to the system.

glibc serves an allocation of ``M_MMAP_THRESHOLD`` bytes or more with a mapping of its own,
unmapped when freed, and smaller ones from heaps that keep what is freed for later.  By default
the threshold moves up (to 32 MiB) each time a bigger mapped block is freed: after one Argon2
hash (19 MiB), a DICOM instance or a PDF, blocks of that size are then kept in the heap of each
thread that touched them.  Measured: eight threads verifying three passwords each left a
process at 166 MB resident for good, 14 MB with the threshold fixed (mallopt(3): setting it
turns the adjustment off).  Called by ``yilian serve`` and by each worker process at start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("yilian")

M_MMAP_THRESHOLD = -3  # <malloc.h>
MMAP_THRESHOLD = 1 << 20  # blocks of 1 MiB and more: their own mapping, returned when freed


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold for this process; ``False`` where there is no glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): left as it is
        log.info("allocator left as it is: no mallopt")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
