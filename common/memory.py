"""A memory cap on one process, so a file that expands too far fails its own job (with a
MemoryError the job explains) and never takes the machine, or the bot, with it.

RLIMIT_DATA, not RLIMIT_AS: it counts memory written to (heap, arrays), not address space
merely reserved, which headless Chrome (the charts) reserves by the terabyte.
"""

from __future__ import annotations

import contextlib

MB = 1024 * 1024


def limit_memory(mb: int, pid: int = 0) -> None:
    """Cap process `pid` (0: this one) at `mb` MB; 0 or less leaves it alone. Its children
    inherit the cap. Never raises: a platform without rlimits runs uncapped."""
    if mb <= 0:
        return
    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):
        import resource

        _, hard = resource.prlimit(pid, resource.RLIMIT_DATA)
        limit = mb * MB if hard == resource.RLIM_INFINITY else min(mb * MB, hard)
        resource.prlimit(pid, resource.RLIMIT_DATA, (limit, limit))


def memory_limit_mb() -> int | None:
    """This process's cap in MB, or None when it has none."""
    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
        return None if soft == resource.RLIM_INFINITY else soft // MB
    return None
