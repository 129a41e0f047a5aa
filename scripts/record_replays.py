"""Record the runs of some pages' default settings as the replays that ship with the app
(assets/replays/, gzipped JSON exports): a page shows one at first paint, until its live run
has records of its own (bn_core/replay.py, bnlab_ui/replays.py).

    python scripts/record_replays.py            # every page below
    python scripts/record_replays.py --only home,figure1
    python scripts/record_replays.py --check    # say which recordings are missing or stale

A recording is found by the run key of its config, so one whose page changed its defaults is
simply never shown; `--check` lists them (and deletes none). Training is in this process, one
torch thread, with the same code as the app (`train_to_end`).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recordings() -> dict[str, tuple[str, list]]:
    """name -> (page, configs): the default runs of the pages that ship a recording."""
    from bn_core.lessons import conv_bn, custom_data, small_batches, which_part
    from bn_core.lessons.home import HOME_RUN
    from bn_core.presets import lesson_setup

    return {
        "home": ("app.py", [HOME_RUN]),
        "figure1": ("pages/1_Figure_1_live.py", [lesson_setup("figure1")]),
        "which-part": ("pages/10_Which_part_of_BN.py", [which_part.FIGURE1_PART]),
        "small-batches": ("pages/11_Small_batches.py", small_batches.sweep_configs()),
        "cnn": ("pages/12_Convolutional_BN.py", [conv_bn.CNN_TWINS]),
        "your-data": ("pages/13_Your_own_data.py",
                      [custom_data.page_config(custom_data.example().name)]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated names: " + ", ".join(
        ["home", "figure1", "which-part", "small-batches", "cnn", "your-data"]))
    ap.add_argument("--check", action="store_true", help="only list missing recordings")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from bn_core.engine.training import train_to_end
    from bn_core.replay import REPLAY_DIR, replay_file, write_shipped

    wanted = recordings()
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(only) - set(wanted)
    if unknown:
        print(f"unknown: {', '.join(sorted(unknown))}; known: {', '.join(wanted)}",
              file=sys.stderr)
        return 2
    keep = set()
    for name, (page, configs) in wanted.items():
        for config in configs:
            path = replay_file(config)
            keep.add(path.name)
            if args.check:
                print(f"{name}: {path.name} {'ok' if path.exists() else 'MISSING'}")
                continue
            if only and name not in only:
                continue
            started = time.perf_counter()
            snap = train_to_end(config.replace(pace=0.0))  # pace only sleeps: same numbers
            path = write_shipped(snap, page)
            print(f"{name}: {path.relative_to(ROOT)} {path.stat().st_size / 1000:,.0f} KB, "
                  f"{snap.step:,} steps in {time.perf_counter() - started:.0f} s", flush=True)
    stale = sorted(p.name for p in REPLAY_DIR.glob("*.json.gz") if p.name not in keep)
    for name in stale:
        print(f"not a current page default (never shown): assets/replays/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
