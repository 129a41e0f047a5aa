"""Gradients and learning rates (T5, T9): the sentences the lesson prints, as pure functions of
a run's snapshot: gradient norms bottom vs top, accuracy, and what a large learning rate did
to each net (diverged, collapsed to chance, or trained).

A net "collapses" when its held-out accuracy ends within COLLAPSE_MARGIN of chance after the
run: its loss stayed finite, but its updates threw it somewhere it no longer learns from
(in the ReLU nets measured, most of its units stopped passing any signal).
"""
from __future__ import annotations

import math

import numpy as np

from bn_core.figures.gradients import latest_profile, orders_of_magnitude
from bn_core.lessons.distributions import init_words

COLLAPSE_MARGIN = 0.05  # within 5 points of chance at the end: the net collapsed


def sci(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1e}"


def chance(snap) -> float:
    """The accuracy of guessing the most common class's share: 1 / number of classes."""
    n = snap.data.n_classes if snap.data is not None else None
    return 1.0 / n if n else math.nan


def outcome(view, chance_level: float) -> str:
    """"diverged", "collapsed" (learnt, then fell back to chance), "stuck" (never left
    chance), "training" (still running) or "trained"."""
    if view.status == "diverged":
        return "diverged"
    acc = np.asarray(view.evals.get("heldout_acc", []), np.float64)
    acc = acc[np.isfinite(acc)]
    if view.status == "training" or not acc.size:
        return "training"
    if math.isfinite(chance_level) and acc[-1] <= chance_level + COLLAPSE_MARGIN:
        return "collapsed" if acc.max() > acc[-1] + COLLAPSE_MARGIN else "stuck"
    return "trained"


def caption(config) -> str:
    return (f"Effective learning rate: {config.lr:g} x {config.lr_multiplier:g} = "
            f"{config.effective_lr:g}; {config.depth} hidden layers of {config.width} "
            f"{config.activation} units; initial weights {init_words(config)}.")


def gradient_text(snap) -> str:
    """Each net's latest gradient norms at the bottom and the top, in words."""
    rows = []
    for v in snap.nets.values():
        prof = latest_profile(v)
        if prof is None:
            why = (f"diverged at step {v.diverged_at:,} before its first probe"
                   if v.status == "diverged" else "no gradient norms recorded yet"
                   if len(v.probes.get("step", ())) < 2 else
                   "this run recorded no gradient norms")
            rows.append(f"- **{v.label}**: {why}")
            continue
        step, g = prof
        drop = orders_of_magnitude(g)
        how = (f"{drop:.1f} powers of ten smaller at the bottom" if drop >= 0.05 else
               f"{-drop:.1f} powers of ten larger at the bottom" if drop <= -0.05 else
               "about equal")
        rows.append(f"- **{v.label}** (step {step:,}): layer 1 {sci(g[0])}, output "
                    f"{sci(g[-1])}: {how}")
    return "**Gradient norm, bottom vs top**\n" + "\n".join(rows)


def accuracy_text(snap) -> str:
    rows = []
    for v in snap.nets.values():
        acc = v.evals.get("heldout_acc")
        if acc is None or not len(acc):
            rows.append(f"- **{v.label}**: {v.status_text}")
            continue
        rows.append(f"- **{v.label}**: {float(acc[-1]):.0%} now, best "
                    f"{float(np.nanmax(acc)):.0%} ({v.status_text})")
    return "**Held-out accuracy**\n" + "\n".join(rows)


def profile_hint(config) -> str:
    if config.activation == "sigmoid":
        return ("Each sigmoid layer multiplies the signal by its slope (at most 0.25) and by "
                "its weights: in the plain net the line falls steeply toward layer 1. In the "
                "BN net each layer divides by its input's spread, which keeps the line flat.")
    if config.activation == "relu":
        return ("A ReLU passes the signal through where it is on (slope 1), so depth alone "
                "hurts less; the weights' scale decides: **try** the scaled init with scale 3 "
                "(exploding) or 0.5 (vanishing), or He's N(0, 2/fan_in), made to keep it level.")
    return "**Try** sigmoid with 10 layers to see a gradient vanish."


def lr_hint(snap) -> str:
    """What the learning rate did to each net, from the run."""
    cfg = snap.config
    level = chance(snap)
    outcomes = {n: outcome(v, level) for n, v in snap.nets.items()}
    # a net that never left chance at a normal rate is not the learning rate's doing
    failing = ("diverged", "collapsed") + (("stuck",) if cfg.lr_multiplier >= 5 else ())
    failed = [n for n, o in outcomes.items() if o in failing]
    if failed:
        parts = []
        for n in failed:
            v = snap.nets[n]
            if outcomes[n] == "diverged":
                parts.append(f"the {v.label} net's loss or weights stopped being finite numbers "
                             f"at step {v.diverged_at:,} (dashed line)")
            elif outcomes[n] == "stuck":
                parts.append(f"the {v.label} net never left chance level ({level:.0%}): "
                             f"{float(v.evals['heldout_acc'][-1]):.0%} at the end")
            else:
                best = float(np.nanmax(v.evals["heldout_acc"]))
                parts.append(f"the {v.label} net collapsed: it reached {best:.0%} at best, then "
                             f"fell to {float(v.evals['heldout_acc'][-1]):.0%}, chance level "
                             f"({level:.0%}), with its loss still finite")
        others = [snap.nets[n].label for n, o in outcomes.items() if o == "trained"]
        text = f"At learning rate {cfg.effective_lr:g} " + "; ".join(parts) + "."
        if others:
            text += (f" The {' and '.join(others)} net trained at the same rate. BN makes a "
                     "layer's output independent of its weights' scale, so an oversized step "
                     "cannot blow the activations up.")
        elif len(failed) == len(outcomes):
            text += " Every net failed: this rate is too large even with BN."
        return text
    stuck = [snap.nets[n].label for n, o in outcomes.items() if o == "stuck"]
    note = (f"The {' and '.join(stuck)} net never left chance level ({level:.0%}) at this rate: "
            "the gradient profile above shows whether its lowest layers got any signal. "
            if stuck else "")
    if cfg.lr_multiplier < 5:
        return note + ("**Try** the multiplier x5 and x30 (the BN paper's BN-x5 and BN-x30), "
                       "or the ReLU scenarios above.")
    if any(o == "training" for o in outcomes.values()):
        return "Neither net has failed at this rate so far."
    return ("Neither net failed at this rate. **Try** a ReLU net (the ReLU scenarios) or a "
            "larger multiplier.")
