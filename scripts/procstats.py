"""What /proc says about a process: CPU seconds, resident memory, threads, its descendants, and
the local Ray cluster's run actors (the benchmarks' shared helpers, Linux only)."""
from __future__ import annotations

import os

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def proc_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def ray_actor_pids() -> list[int]:
    """The local Ray cluster's run actors (their process title is `ray::RunActor...`)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as fh:
                    if fh.read(13).startswith(b"ray::RunActor"):
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def children(pid: int) -> list[int]:
    """Every process under `pid` (the training workers and their helpers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task") if os.path.exists(f"/proc/{p}/task") else []:
            try:
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out
