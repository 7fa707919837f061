"""Keep the app's memory to what it uses: a million-row check frees far more than it keeps.

Both allocators involved hold on to freed memory by default: polars' jemalloc (purged by a
background thread once configured, before polars is imported) and glibc's malloc, which gives
each thread its own arena and returns free pages only when asked (malloc_trim). Elsewhere than
glibc these are no-ops.
"""

from __future__ import annotations

import os
from typing import Any

# One arena: what polars frees on one thread (reading the file) the next work reuses on another
# (the embedded service's check), rather than each thread's arena keeping its own. At a
# million rows the upload's peak went from 725 to 660 MB, and no slower.
JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1"
# A one-shot command (roster check, import): one arena, so that what one of polars' threads
# frees another reuses, rather than each thread's arena keeping its own (395 -> 360 MB for a
# million rows, and no slower), and freed pages given back within 0.2 s, so that the embedded
# service's work and the client's do not both stay resident: a million rows checked again
# against their invitations, 1,007 -> 873 MB. At once (0 ms) saves 30 MB more, but page faults
# then cost a dry run of a million 0.3 s.
BATCH_JEMALLOC_CONF = "narenas:1,dirty_decay_ms:200,muzzy_decay_ms:0"
_M_ARENA_MAX = -8


def _libc() -> Any:  # ctypes.CDLL, loaded only by the app (roster check starts without it)
    """The C library the interpreter runs on: the process's own symbols, which hold it. Not
    ctypes.util.find_library("c"), which runs ldconfig: 40 ms of the app's start."""
    import ctypes

    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # TypeError: Windows, which has no such handle
        return None


def configure_allocators() -> None:
    """For the long-running app; call before polars is imported and before threads start."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_ARENA_MAX, 2)


def configure_batch_allocator() -> None:
    """For a command that reads one file and ends; call before polars is imported. A setting
    of the user's own (_RJEM_MALLOC_CONF) is kept."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", BATCH_JEMALLOC_CONF)


def release_free_memory() -> None:
    """Hand glibc's free pages back to the system (after a large file is checked)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
