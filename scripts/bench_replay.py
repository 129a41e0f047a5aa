"""What one torch thread saves the web server: the Covariate shift page's replay of recorded nets
(`bn_core.lessons.covariate_shift.rescore`: each recorded step's net scored on the moved test
points), with torch on 1 thread and on 2, each in a fresh process, optionally beside busy loops
that hold the cores as the training workers and the browsers do.

    python scripts/bench_replay.py [--busy 2] [--repeats 2]

Prints JSON: per thread count, the first (cold) rescoring of a finished run's 39 checkpoints per
net in ms and per checkpoint-net, and the median of 20 warm (cached) rescorings.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, statistics, sys, time
import torch
from bn_core.engine.training import train_to_end
from bn_core.lessons.covariate_shift import rescore, training_config
from bn_core.presets import lesson_setup
snap = train_to_end(training_config(lesson_setup("covariate-shift")))
torch.set_num_threads(int(sys.argv[1]))  # after training, which sets its own
n = sum(len(v.checkpoints["step"]) for v in snap.nets.values())
t = time.perf_counter(); rescore(snap, 1.0, 0.0, 30.0, 1.0); cold = time.perf_counter() - t
warm = []
for _ in range(20):
    t = time.perf_counter(); rescore(snap, 1.0, 0.0, 30.0, 1.0); warm.append(time.perf_counter() - t)
print(json.dumps({"threads": torch.get_num_threads(), "checkpoint_nets": n,
                  "cold_ms": round(cold * 1000, 1), "cold_ms_per_checkpoint_net":
                  round(cold * 1000 / n, 3), "warm_ms_median": round(statistics.median(warm) * 1000, 2)}))
"""


def busy() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2, help="busy loops beside the measurement")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    loops = [mp.Process(target=busy, daemon=True) for _ in range(args.busy)]
    for p in loops:
        p.start()
    out = []
    try:
        for _ in range(args.repeats):
            for threads in (1, 2):
                res = subprocess.run([sys.executable, "-c", CHILD, str(threads)], cwd=ROOT,
                                     capture_output=True, text=True, timeout=600,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
                if res.returncode:
                    raise SystemExit(res.stderr[-2000:])
                out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    finally:
        for p in loops:
            p.terminate()
    print(json.dumps({"busy_loops": args.busy, "load_average": os.getloadavg()[0], "runs": out},
                     indent=2))


if __name__ == "__main__":
    main()
