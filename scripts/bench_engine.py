"""Engine benchmarks without a browser (docs/benchmarks.md, "Engine"):

  python scripts/bench_engine.py paced [--runs 30] [--pace 150] [--seconds 20] [--backend workers]
      N paced toy runs (the home page's net) at once: how many train, each one's share of its
      pace, CPU and memory of the training processes.
  python scripts/bench_engine.py first [--runs 3] [--backend workers]
      Start to first chart without a browser: new Figure 1 runs (the page's settings, a
      learning rate nobody has run) started one after another on a warm backend, and when each
      reached each state (loading, running), published its nets' first records, and its first
      evaluation (what the page's first live chart needs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bn_core.config import RunConfig  # noqa: E402
from bn_core import engine  # noqa: E402
from bn_core.engine.registry import RunRegistry  # noqa: E402
from procstats import proc_cpu_seconds, proc_rss_mib, proc_threads, ray_actor_pids  # noqa: E402

HOME = RunConfig(dataset="moons", n_samples=300, noise=0.2, depth=4, width=32,
                 activation="sigmoid", lr=0.5, batch_size=30, steps=200_000, probe_every=20,
                 eval_every=20, grid_resolution=50, pace=150.0)


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MiB) of a process from /proc."""
    return proc_cpu_seconds(pid), proc_rss_mib(pid)


def _median_cost(backend, runs) -> float | None:
    costs = sorted(h.placements[r.key].cost for r in runs
                   for h in getattr(getattr(backend, "scheduler", None), "hosts", [])
                   if r.key in h.placements)
    return round(1000 * costs[len(costs) // 2], 3) if costs else None


def ready_backend(name: str):
    """The engine's backend `name`, once its training processes are up (at most 120 s)."""
    backend = engine.make_backend(name)
    if hasattr(backend, "wait_ready"):
        backend.wait_ready(120)
    return backend


def paced(args) -> dict:
    backend = ready_backend(args.backend)
    registry = RunRegistry(backend=backend, idle_timeout=None, max_runs=max(64, args.runs + 1))
    runs = [registry.start(HOME.replace(seed=s, pace=args.pace)) for s in range(args.runs)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(r.status == "running" for r in runs):
        time.sleep(0.2)
    time.sleep(2.0)  # past the first records
    # the training processes: the worker backend's, or the local Ray cluster's run actors
    pids = backend.pids() if hasattr(backend, "pids") else ray_actor_pids()
    start = {r.key: r.snapshot().step for r in runs}
    cpu0 = {p: proc_stats(p)[0] for p in pids}
    t0 = time.monotonic()
    time.sleep(args.seconds)
    dt = time.monotonic() - t0
    shares = sorted((r.snapshot().step - start[r.key]) / dt / args.pace for r in runs)
    stats = {p: proc_stats(p) for p in pids}
    out = {
        "runs": args.runs, "pace": args.pace, "seconds": round(dt, 1), "backend": backend.name,
        "training": sum(r.status == "running" for r in runs),
        "queued": sum(r.status == "queued" for r in runs),
        "share_of_pace_min": round(shares[0], 3), "share_of_pace_median":
            round(shares[len(shares) // 2], 3), "share_of_pace_max": round(shares[-1], 3),
        "runs_at_90pct_or_more": sum(s >= 0.9 for s in shares),
        "worker_cpu_fraction": [round((stats[p][0] - cpu0[p]) / dt, 3) for p in pids],
        "worker_rss_mib": [round(stats[p][1]) for p in pids],
        "worker_threads": [proc_threads(p) for p in pids],
        "parent_rss_mib": round(proc_stats(os.getpid())[1]),
        "parent_threads": proc_threads(os.getpid()),
        "step_cost_ms_median": _median_cost(backend, runs),
        "load_average": os.getloadavg()[0],
    }
    if out["step_cost_ms_median"]:
        # cores the runs would need to keep their pace: runs x pace x the scheduler's measured
        # cost of one step
        out["cores_needed_at_full_pace"] = round(
            args.runs * args.pace * out["step_cost_ms_median"] / 1000, 2)
    for r in runs:  # on Ray a registry's shutdown leaves its runs to the cluster: stop them
        r.stop("benchmark over")
    registry.shutdown()
    return out


def first(args) -> dict:
    from bn_core.presets import lesson_setup

    backend = ready_backend(args.backend)
    registry = RunRegistry(backend=backend, idle_timeout=None)
    base = lesson_setup("figure1")
    out = {"backend": backend.name, "runs": []}
    try:
        for i in range(args.runs):
            t0 = time.perf_counter()
            run = registry.start(base.replace(lr=round(0.41 + 0.01 * i + time.time() % 1e-3, 6)))
            seen: dict[str, float] = {}
            deadline = t0 + 120
            while time.perf_counter() < deadline and "first_eval_s" not in seen:
                snap = run.snapshot()
                now = round(time.perf_counter() - t0, 3)
                seen.setdefault(f"{snap.status}_s", now)
                if snap.nets:
                    seen.setdefault("first_records_s", now)
                    if any(len(v.evals.get("step", ())) for v in snap.nets.values()):
                        seen["first_eval_s"] = now
                time.sleep(0.005)
            out["runs"].append(seen)
            run.stop("benchmark over")
    finally:
        registry.shutdown()
    out["load_average"] = os.getloadavg()[0]
    return out


def main() -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("paced")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--pace", type=float, default=150.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--backend", default="workers")
    f = sub.add_parser("first")
    f.add_argument("--runs", type=int, default=3)
    f.add_argument("--backend", default="workers")
    args = parser.parse_args()
    print(json.dumps({"paced": paced, "first": first}[args.what](args), indent=2))


if __name__ == "__main__":
    main()
