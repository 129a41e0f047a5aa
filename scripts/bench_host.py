"""One training host in this process, no workers and no browser: N paced copies of the home
page's toy run (bench_engine.HOME, different seeds) for a window, batched steps on or off
(BNLAB_BATCHED=0). Prints steps/s, the share of pace, the host thread's CPU, CPU per step,
the records' pickled bytes per second (what a worker would send its parent) and the batched
rounds; with --profile, a cProfile of the window.

    python scripts/bench_host.py 15 10
    BNLAB_BATCHED=0 python scripts/bench_host.py 15 10
"""
from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench_engine import HOME  # noqa: E402
from bn_core.engine.host import TrainingHost  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--pace", type=float, default=150.0)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sent = [0]

    def emit(key, update):
        sent[0] += len(pickle.dumps(update, protocol=pickle.HIGHEST_PROTOCOL))

    host = TrainingHost(emit)
    for i in range(args.runs):
        host.handle({"op": "start", "key": str(i), "attempt": 1, "pace": args.pace,
                     "config": HOME.replace(seed=i, pace=args.pace)})
    prof = cProfile.Profile()
    t0, c0 = time.monotonic(), time.thread_time()
    s0 = sum(h.job.step for h in host.jobs.values())
    if args.profile:
        prof.enable()
    while time.monotonic() - t0 < args.seconds:
        wait = host.work()
        if wait:
            time.sleep(wait)
    prof.disable()
    dt, cpu = time.monotonic() - t0, time.thread_time() - c0
    steps = sum(h.job.step for h in host.jobs.values()) - s0
    print(f"runs {args.runs}, batching {'on' if host.batching else 'off'}: "
          f"{steps / dt:.0f} steps/s ({steps / dt / args.runs / args.pace:.2f} of pace), "
          f"host thread {cpu / dt:.2f} cores, {cpu / steps * 1e3:.3f} ms CPU a step, "
          f"{sent[0] / dt / 1e3:.0f} KB/s of records, {host.batched_rounds} batched rounds")
    if args.profile:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
