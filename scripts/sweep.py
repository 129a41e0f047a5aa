"""Train a lesson's setup (or a preset) over a grid of settings and seeds, and print what each
net did: how docs/claims.md's sweeps (learning rates, gamma, init) were measured.

    python scripts/sweep.py --preset lr-x1 --set depth=10 --grid lr=0.05,0.08,0.1 \
        --grid lr_multiplier=1,5,30 --seeds 0,1,2
    python scripts/sweep.py --lesson gamma-beta --grid gamma_value=0.3,0.5,0.7,1,2
    python scripts/sweep.py --lesson internal-covariate-shift --grid init=default,he
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bn_core.config import SETTINGS  # noqa: E402
from bn_core.engine.training import train_to_end  # noqa: E402
from bn_core.lessons.distributions import moment_drift  # noqa: E402
from bn_core.presets import lesson_setup, preset  # noqa: E402


def _value(name: str, text: str):
    spec = SETTINGS[name]
    return spec.coerce(text)[0] if spec.kind is not str else text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--lesson", help="a lesson's default setup (presets.LESSON_SETUPS)")
    src.add_argument("--preset", help="a named preset (presets.PRESETS)")
    parser.add_argument("--set", action="append", default=[], help="name=value, fixed")
    parser.add_argument("--grid", action="append", default=[], help="name=v1,v2,... swept")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        base = lesson_setup(args.lesson) if args.lesson else preset(args.preset).config
        fixed = dict(s.split("=", 1) for s in args.set)
        base = base.replace(pace=0.0, **{k: _value(k, v) for k, v in fixed.items()})
        grid = [(k, [_value(k, x) for x in v.split(",")])
                for k, v in (g.split("=", 1) for g in args.grid)]
        seeds = [int(s) for s in args.seeds.split(",")]
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [k for k, _ in grid]
    for values in itertools.product(*[v for _, v in grid]):
        for seed in seeds:
            cfg = base.replace(seed=seed, **dict(zip(names, values)))
            snap = train_to_end(cfg)
            parts = []
            for name, v in snap.nets.items():
                acc = np.asarray(v.evals["heldout_acc"], np.float64)
                growth = max((d.var_ratio_max for d in moment_drift(v.probes["mean"],
                                                                     v.probes["var"])),
                             default=float("nan"))
                parts.append(f"{name}: {v.status_text}, held-out {acc[-1]:.3f} (best "
                             f"{np.nanmax(acc):.3f}), largest variance growth {growth:.3g}x")
            setting = ", ".join(f"{k}={x}" for k, x in zip(names, values))
            print(f"{setting} seed {seed}: " + " | ".join(parts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
