"""Command line: `python -m bn_core reproduce fig1|ics|landscape ...`, `python -m bn_core
check-claims` and `python -m bn_core bench`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bn_core.config import IMAGE_DATASETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bn_core",
                                     description="BN Lab engine: reproductions and benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="reproduce a paper's experiment")
    rep.add_argument("experiment", choices=("fig1", "ics", "landscape"))
    rep.add_argument("--steps", type=int, default=None,
                     help="training steps (fig1: default 50,000 as in the paper)")
    rep.add_argument("--activation", choices=("sigmoid", "relu"), default="sigmoid",
                     help="landscape: 3 x 100 sigmoid (default) or 6 x 100 ReLU with He's init")
    rep.add_argument("--lr", type=float, default=None,
                     help="landscape: learning rate (default 0.5, the ICS page's)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--out", type=Path, default=Path("out"))
    rep.add_argument("--data", choices=IMAGE_DATASETS, default="mnist-subset")
    rep.add_argument("--binarize", action="store_true", help="binary images, as in the paper")
    rep.add_argument("--jobs", type=int, default=2,
                     help="processes: 2 trains the two nets at once (identical results)")
    claims = sub.add_parser("check-claims", help="measure every lesson's claim (T1-T13) on "
                                                 "several seeds and print a table")
    claims.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    claims.add_argument("--quick", action="store_true",
                        help="shorter runs where the claim is settled early (fits in CI)")
    claims.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    claims.add_argument("--only", default=None, help="comma-separated claim codes, e.g. T4,T13")
    claims.add_argument("--markdown", action="store_true", help="a Markdown table")
    bench = sub.add_parser("bench", help="twin run speed vs a bare PyTorch loop (JSON)")
    bench.add_argument("--steps", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "check-claims":
            return _check_claims(args)
        if args.command == "bench":
            from bn_core.bench import BENCH_STEPS, run_bench
            print(json.dumps(run_bench(args.steps or BENCH_STEPS), indent=2))
            return 0
        if args.experiment == "fig1":
            return _fig1(args)
        if args.experiment == "landscape":
            from bn_core.reproduce import reproduce_landscape
            csv_path, html_path, summary = reproduce_landscape(
                args.out, activation=args.activation, lr=args.lr, steps=args.steps,
                seed=args.seed)
            print(f"wrote {csv_path} and {html_path}", file=sys.stderr)
            print(json.dumps(summary, indent=2))
            return 0
        from bn_core.reproduce import reproduce_ics
        path, summary = reproduce_ics(args.out, steps=args.steps, seed=args.seed)
        print(f"wrote {path}")
        print(json.dumps(summary, indent=2))
        return 0
    except ValueError as exc:  # bad settings or data: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _check_claims(args) -> int:
    from bn_core.claims import check_claims, format_table

    try:
        seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"seeds: got {args.seeds!r}; allowed: comma-separated integers, "
                         "e.g. 0,1,2") from None
    if any(s < 0 for s in seeds):
        raise ValueError(f"seeds: got {args.seeds!r}; allowed: integers >= 0")
    only = tuple(c.strip() for c in args.only.split(",") if c.strip()) if args.only else None
    started = time.perf_counter()
    reports = check_claims(seeds, quick=args.quick, jobs=max(1, args.jobs), only=only)
    print(format_table(reports, markdown=args.markdown))
    failed = [r.claim.code for r in reports if not r.holds]
    print(f"\n{len(reports) - len(failed)} of {len(reports)} claims hold on "
          f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
          f"{' (quick)' if args.quick else ''}"
          + (f"; not: {', '.join(failed)}" if failed else "")
          + f" ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 1 if failed else 0


def _fig1(args) -> int:
    from bn_core.reproduce import (figure1_config, progress_printer, summarise_figure1, train_nets,
                            write_figure1)
    config = figure1_config(args.steps, args.seed, args.data, args.binarize)
    print(f"Figure 1: {config.steps:,} steps on {config.dataset}, "
          f"{'two processes' if args.jobs > 1 else 'one process'}...", file=sys.stderr)
    started = time.perf_counter()
    nets = train_nets(config, jobs=args.jobs,
                      progress=progress_printer(config.steps) if args.jobs <= 1 else None)
    wall = time.perf_counter() - started
    csv_path, html_path = write_figure1(nets, config, args.out)
    print(f"\nwrote {csv_path} and {html_path} ({wall:.1f} s of training)", file=sys.stderr)
    print(json.dumps({"train_seconds": round(wall, 2), "steps": config.steps,
                      "summary": summarise_figure1(nets)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
