"""What keeping the latest record costs a history view: `History.view()` at capacity (1,024 rows
of the Figure 1 net's probe row, 1.6 KiB) ending on the stride (no tail, the columns are handed
out as they are) and off it (the kept rows and the tail are joined: a copy). Interleaved calls,
medians, so machine load moves both alike.

    python scripts/bench_history_view.py [--calls 300]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bn_core.engine.history import History  # noqa: E402

# One probe row of the 3 x 100 sigmoid net (Trainer.probe), 60-bin histograms.
ROW_SHAPES = {"loss": (), "grad_norm": (4,), "hist": (3, 60), "bn_hist": (3, 60),
              "unit_pct": (3, 3), "pooled_pct": (3, 3), "mean": (3,), "var": (3,),
              "unit_mean": (3,), "unit_var": (3,), "saturated": (3,), "linear_zone": (3,),
              "dead_units": (3,), "zero_outputs": (3,)}


def filled(records: int) -> History:
    row = {name: np.ones(shape, np.float32) for name, shape in ROW_SHAPES.items()}
    history = History(1024)
    for step in range(records):
        history.append(step, **row)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    on_stride, with_tail = filled(2045), filled(2046)  # stride 2: last offered 2044 / 2045
    times = {"no_tail": [], "tail": []}
    for _ in range(args.calls):
        for name, history in (("no_tail", on_stride), ("tail", with_tail)):
            started = time.perf_counter()
            history.view()
            times[name].append(time.perf_counter() - started)
    print(json.dumps({
        "rows": [len(on_stride), len(with_tail)],
        "history_mib": round(with_tail.nbytes / 2**20, 2),
        "view_us_median_no_tail": round(1e6 * statistics.median(times["no_tail"]), 1),
        "view_us_median_tail": round(1e6 * statistics.median(times["tail"]), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
