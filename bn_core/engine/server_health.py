"""Process-level figures a teacher (or a benchmark) reads off a running server."""
from __future__ import annotations

import os
import resource
import threading


def process_health() -> dict:
    """Resident memory (MiB), CPU seconds used, and threads, of this process."""
    rss_kib = 0
    try:
        with open(f"/proc/{os.getpid()}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss_kib = int(line.split()[1])
    except OSError:  # not Linux: fall back to the peak
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    usage = resource.getrusage(resource.RUSAGE_SELF)
    names = [t.name for t in threading.enumerate()]
    return {
        "rss_mib": round(rss_kib / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "threads": len(names),
        "training_threads": sum(1 for n in names if n.startswith("bnlab-")),
    }
