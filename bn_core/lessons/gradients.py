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


# ---------------------------------------------------------------------------- scenarios

SCENARIO_FIELDS = ("activation", "depth", "width", "init", "init_scale", "lr", "lr_multiplier",
                   "dataset")


def preset_values(name: str) -> dict:
    """A preset's values of the settings a scenario sets."""
    from bn_core.presets import preset

    config = preset(name).config
    return {field: getattr(config, field) for field in SCENARIO_FIELDS}


def scenarios() -> dict[str, dict]:
    """The page's scenario buttons: title -> the settings one click sets (the run length and
    seed stay). Each produces the effect its title names on the page's setup: checked by
    training it briefly in tests/test_gradients_lesson.py. The ReLU learning-rate scenarios
    are the presets lr-x1/x5/x30 (10 x 100 ReLU, He's init, base rate 0.1; claims T9, T9b,
    T9c)."""
    return {
        "Deep sigmoid (vanishing gradients)": dict(
            activation="sigmoid", depth=10, width=64, init="default", init_scale=1.0, lr=0.1,
            lr_multiplier=1.0, dataset="mnist-subset"),
        "ReLU, learning rate x1": preset_values("lr-x1"),
        "ReLU, x5 (BN-x5)": preset_values("lr-x5"),
        "ReLU, x30 (BN-x30)": preset_values("lr-x30"),
        # Weights N(0, 9/fan_in), 3 / sqrt(2) times He's: at the first probe (step 20) the
        # plain net's gradients are 41-224 times the BN net's, median 87-112 (seeds 0-2). At a
        # rate of 0.1 the plain net overflows within 3-5 steps, before any probe, so the rate
        # here is 0.0001: slow, but it shows them.
        "Large init (exploding gradients)": dict(
            activation="relu", depth=10, width=64, init="scaled", init_scale=3.0, lr=0.0001,
            lr_multiplier=1.0, dataset="mnist-subset"),
    }


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
                       "or the ReLU scenarios in the sidebar.")
    if any(o == "training" for o in outcomes.values()):
        return "Neither net has failed at this rate so far."
    return ("Neither net failed at this rate. **Try** a ReLU net (the ReLU scenarios) or a "
            "larger multiplier.")


# ---------------------------------------------------------------------------- exploding gradients

EXPLODING_RATIO = 10.0  # the plain net's gradients this many times the BN net's: exploding


def size_ratio(snap, latest: bool = False) -> tuple[int, np.ndarray] | None:
    """(step, plain / BN gradient norm of each weight matrix) at the first (or latest) probe at
    which both nets have gradients; None if there is none."""
    plain, bn = snap.nets.get("plain"), snap.nets.get("bn")
    if plain is None or bn is None:
        return None
    gp, gb = plain.probes.get("grad_norm"), bn.probes.get("grad_norm")
    if gp is None or gb is None:
        return None
    n = min(len(gp), len(gb))
    both = [i for i in range(n) if np.all(np.isfinite(gp[i])) and np.all(np.isfinite(gb[i]))
            and np.all(np.asarray(gb[i]) > 0)]
    if not both:
        return None
    i = both[-1] if latest else both[0]
    return int(plain.probes["step"][i]), np.asarray(gp[i], np.float64) / np.asarray(gb[i], np.float64)


def explosion_text(snap) -> str:
    """Whether the plain net's gradients exploded, measured against its BN twin's: how many
    times larger they were at the first probe and are now. Empty when neither net's gradients
    are much larger than the other's."""
    first = size_ratio(snap)
    if first is None:
        return ""
    step, ratio = first
    med = float(np.median(ratio))
    if med < EXPLODING_RATIO:
        return ""
    cfg = snap.config
    text = (f"**Exploding gradients:** at step {step:,} the plain net's gradients were "
            f"**{ratio.min():.0f} to {ratio.max():.0f} times** the BN net's (median {med:.0f}), "
            f"weight matrix by weight matrix: each of its {cfg.depth} layers multiplies the "
            "error signal by its large weights on the way down. BN divides each layer's input "
            "by its spread, so the weights' scale cancels.")
    now = size_ratio(snap, latest=True)
    if now is not None and now[0] != step:
        text += f" At step {now[0]:,}: {float(np.median(now[1])):.0f} times (median)."
    bn = snap.nets["bn"]
    if (cfg.init == "scaled" and cfg.init_scale > 1 and cfg.lr_multiplier < 5
            and outcome(bn, chance(snap)) == "stuck"):
        s = cfg.init_scale
        text += (f" At this small rate the BN net barely learns: its hidden layers' outputs "
                 f"ignore their weights' scale, so with weights {s:g} times larger each step "
                 f"changes them about {s * s:g} times less.")
    return text
