"""Figure 1 at the paper's length (T4): what a 50,000-step run shows on each data set, as
measured, so the page can tell a student what they will and will not see before they wait.

Measured with `python -m bn_core reproduce fig1 --data DATA --seed S --steps 50000` (the
paper's net, SGD at learning rate 0.5, batch 60, grey-level pixels, held-out accuracy on 1,000
test images); the numbers are in docs/claims.md. A data set that was not measured says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

PAPER_STEPS = 50_000


@dataclass(frozen=True)
class LongRun:
    """What 50,000 steps showed on one data set, over the seeds measured."""

    seeds: tuple
    early: str          # held-out accuracy early on, BN vs plain
    level_from: str     # from when the two nets are level
    final: str          # held-out accuracy at step 50,000, BN vs plain
    band: str           # what the percentile bands did over the whole run
    why: str            # why BN does not end higher there


MEASURED: dict[str, LongRun] = {
    "mnist-subset": LongRun(
        seeds=(0,), early="at step 300 BN 89% vs plain 51%",
        level_from="about step 3,000",
        final="BN 94.5% vs plain 94.6%",
        band="the plain net's median moved most in the first few thousand steps, then settled "
             "(after the first 5,000 steps it moved over 0.07 vs BN's 0.22)",
        why="the 4,000 training digits are learnt by about step 3,000, so both nets stop there"),
    "fashion-mnist": LongRun(
        seeds=(0, 1, 2), early="at step 300 BN 80-83% vs plain 52-59%; at step 3,000 85% vs "
                               "83-84%",
        level_from="about step 10,000-20,000",
        final="BN 86.7-89.4% vs plain 87.2-89.3% (one seed each way)",
        band="after the first 5,000 steps BN's median moved over less than the plain net's on "
             "seed 0 only (0.54 vs 0.95; seeds 1 and 2: 1.45 vs 1.06 and 1.13 vs 0.85)",
        why="with SGD at learning rate 0.5 both nets reach the same accuracy given time"),
}


def paper_length_note(dataset: str, binarize: bool = False) -> str:
    """What a student will and will not see in a 50,000-step run on `dataset`."""
    run = MEASURED.get(dataset)
    if run is None:
        return (f"{PAPER_STEPS:,} steps on this data set were not measured for BN Lab: the "
                "paper reports BN ahead early and ending higher on full MNIST; watch whether "
                "this run agrees.")
    seeds = ", ".join(str(s) for s in run.seeds)
    text = (f"Measured on {'this data set' if not binarize else 'the grey-level images'} "
            f"(seed{'s' if len(run.seeds) > 1 else ''} {seeds}): you **will see** BN's head "
            f"start ({run.early}) and the nets level from {run.level_from}. You **will not "
            f"see** BN end higher (step {PAPER_STEPS:,}: {run.final}): {run.why}. The bands: "
            f"{run.band}.")
    if binarize:
        text += " (Binary images were not measured at this length.)"
    return text


# ---------------------------------------------------------------------------- live page text

def _acc(value: float) -> str:
    return "not reached yet" if math.isnan(value) else f"{value:.0%}"


def accuracy_text(snap, mark_step: int) -> str:
    """Each net's held-out accuracy now and at `mark_step`, from the run."""
    from bn_core.lessons.distributions import value_at_step

    rows = []
    for view in snap.nets.values():
        ev = view.evals
        if len(ev.get("step", ())) == 0:
            continue
        now_step = int(ev["step"][-1])
        early = value_at_step(ev["step"], ev["heldout_acc"], mark_step)
        at_mark = "" if now_step == mark_step else f"; {_acc(early)} at step {mark_step}"
        rows.append(f"- **{view.label}**: {_acc(float(ev['heldout_acc'][-1]))} at step "
                    f"{now_step:,}{at_mark}"
                    + (f" ({view.status_text})" if view.status == "diverged" else ""))
    return "**Held-out accuracy, measured on this run**\n" + "\n".join(rows)


def band_text(snap, layer: int, pooled: bool) -> str:
    """How each net's percentile band of the layer's input moved, from the run, and which
    net's median wandered further."""
    from bn_core.lessons.distributions import band_drift
    from bn_core.nets.probes import SATURATION_THRESHOLD

    cfg = snap.config
    key = "pooled_pct" if pooled else "unit_pct"
    what = "all units pooled" if pooled else f"unit {cfg.probe_unit}"
    rows, drifts = [], {}
    for name, view in snap.nets.items():
        pr = view.probes
        if key not in pr or len(pr["step"]) == 0:
            continue
        d = band_drift(pr[key][:, layer, :])
        if d is None:
            continue
        drifts[name] = d
        sat = ""
        if cfg.activation in SATURATION_THRESHOLD and "saturated" in pr:
            sat = (f"; {float(pr['saturated'][-1, layer]):.0%} of the layer's inputs are in the "
                   "saturated zones now")
        rows.append(f"- **{view.label}**: the median went from {d.median_start:+.2f} to "
                    f"{d.median_now:+.2f}, wandering over a range of **{d.median_range:.2f}**; "
                    f"the band ({cfg.percentiles[0]:g}th to {cfg.percentiles[-1]:g}th) went "
                    f"from {d.width_start:.2f} to {d.width_now:.2f} wide{sat}.")
    probed = max((int(v.probes["step"][-1]) for v in snap.nets.values()
                  if len(v.probes.get("step", ()))), default=0)
    text = f"**Layer {layer + 1}, {what}, step 0 → {probed:,}**\n" + "\n".join(rows)
    if "plain" in drifts and "bn" in drifts and drifts["bn"].median_range > 0:
        p, b = drifts["plain"].median_range, drifts["bn"].median_range
        if p >= b:
            text += f"\n\nThe plain net's median wandered **{p / b:.1f} times** as far as the BN net's."
        else:
            text += (f"\n\nHere the BN net's median wandered further than the plain net's "
                     f"({b:.2f} vs {p:.2f}).")
    return text
