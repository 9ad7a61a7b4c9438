"""Giving freed memory back to the system (glibc's `malloc_trim`), after large evictions.

Decoded sparse bitmaps are hundreds of thousands of small allocations (two per CRoaring
container). Freed, they leave holes all through glibc's heap that it keeps for later
allocations: the process's RSS stays at its peak although the memory is free. glibc only
returns the top of the heap by itself; `malloc_trim(0)` also returns every free page in
the middle (madvise), which is what a long-running server wants after evicting
megabytes of bitmaps. It costs a walk over the heap (8 ms to give back 54 MiB of a
136 MiB heap of sparse bitmaps, half of them freed; 0.3 ms when nothing is free), so
the cache calls it only once `cache.GIVE_BACK_BYTES` (1 MiB) have been evicted, and the
checkpointer after a whole checkpoint (its fold decodes and frees bitmaps).

Measured: 100 sparse bitmaps (110 MB decoded) in a process, every other one freed: RSS
stays at 136 MiB; after `give_back` 82 MiB. The server after a SAVE following the
sparse40 load: 57.4 MiB without, 54.3 MiB with it. During a load under a small hot
budget, where evictions are gradual, it changes little (~1 MiB).

On a libc without `malloc_trim` (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes

try:
    # (the process's own symbols: libc is loaded already; no library search)
    _malloc_trim = ctypes.CDLL(None).malloc_trim
    _malloc_trim.argtypes = [ctypes.c_size_t]
    _malloc_trim.restype = ctypes.c_int
except (AttributeError, OSError):  # not glibc
    _malloc_trim = None


def give_back() -> bool:
    """Return free heap pages to the system; whether the allocator could."""
    if _malloc_trim is None:
        return False
    return bool(_malloc_trim(0))
