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
from bn_core.i18n import N_, _
from bn_core.lessons.covariate_shift import and_list
from bn_core.lessons.distributions import init_words

# The initial weights in words (bn_core.lessons.distributions.INIT_WORDS), marked here so the
# caption below can show them translated.
INIT_PHRASES = (N_("He's N(0, 2/fan_in)"), N_("Xavier's N(0, 2/(fan_in + fan_out))"),
                N_("a small N(0, 0.01^2)"))

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
        N_("Deep sigmoid (vanishing gradients)"): dict(
            activation="sigmoid", depth=10, width=64, init="default", init_scale=1.0, lr=0.1,
            lr_multiplier=1.0, dataset="mnist-subset"),
        N_("ReLU, learning rate x1"): preset_values("lr-x1"),
        N_("ReLU, x5 (BN-x5)"): preset_values("lr-x5"),
        N_("ReLU, x30 (BN-x30)"): preset_values("lr-x30"),
        # Weights N(0, 9/fan_in), 3 / sqrt(2) times He's: at the first probe (step 20) the
        # plain net's gradients are 41-224 times the BN net's, median 87-112 (seeds 0-2). At a
        # rate of 0.1 the plain net overflows within 3-5 steps, before any probe, so the rate
        # here is 0.0001: slow, but it shows them.
        N_("Large init (exploding gradients)"): dict(
            activation="relu", depth=10, width=64, init="scaled", init_scale=3.0, lr=0.0001,
            lr_multiplier=1.0, dataset="mnist-subset"),
    }


def sci(x: float) -> str:
    return _("n/a") if x is None or not math.isfinite(x) else f"{x:.1e}"


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
    return _("Effective learning rate: {lr:g} x {multiplier:g} = {effective:g}; {depth} hidden "
             "layers of {width} {activation} units; initial weights {init}.").format(
                 lr=config.lr, multiplier=config.lr_multiplier, effective=config.effective_lr,
                 depth=config.depth, width=config.width, activation=config.activation,
                 init=_(init_words(config)))


def gradient_text(snap) -> str:
    """Each net's latest gradient norms at the bottom and the top, in words."""
    rows = []
    for v in snap.nets.values():
        prof = latest_profile(v)
        if prof is None:
            why = (_("diverged at step {step:,} before its first probe").format(
                       step=v.diverged_at)
                   if v.status == "diverged" else _("no gradient norms recorded yet")
                   if len(v.probes.get("step", ())) < 2 else
                   _("this run recorded no gradient norms"))
            rows.append(_("- **{net}**: {why}").format(net=_(v.label), why=why))
            continue
        step, g = prof
        drop = orders_of_magnitude(g)
        row = (N_("- **{net}** (step {step:,}): layer 1 {bottom}, output {top}: {powers:.1f} "
                  "powers of ten smaller at the bottom") if drop >= 0.05 else
               N_("- **{net}** (step {step:,}): layer 1 {bottom}, output {top}: {powers:.1f} "
                  "powers of ten larger at the bottom") if drop <= -0.05 else
               N_("- **{net}** (step {step:,}): layer 1 {bottom}, output {top}: about equal"))
        rows.append(_(row).format(net=_(v.label), step=step, bottom=sci(g[0]), top=sci(g[-1]),
                                  powers=abs(drop)))
    return _("**Gradient norm, bottom vs top**") + "\n" + "\n".join(rows)


def accuracy_text(snap) -> str:
    rows = []
    for v in snap.nets.values():
        acc = v.evals.get("heldout_acc")
        if acc is None or not len(acc):
            rows.append(_("- **{net}**: {why}").format(net=_(v.label), why=v.status_shown))
            continue
        rows.append(_("- **{net}**: {now:.0%} now, best {best:.0%} ({status})").format(
            net=_(v.label), now=float(acc[-1]), best=float(np.nanmax(acc)),
            status=v.status_shown))
    return _("**Held-out accuracy**") + "\n" + "\n".join(rows)


def profile_hint(config) -> str:
    if config.activation == "sigmoid":
        return _("Each sigmoid layer multiplies the signal by its slope (at most 0.25) and by "
                 "its weights: in the plain net the line falls steeply toward layer 1. In the "
                 "BN net each layer divides by its input's spread, which keeps the line flat.")
    if config.activation == "relu":
        return _("A ReLU passes the signal through where it is on (slope 1), so depth alone "
                 "hurts less; the weights' scale decides: **try** the scaled init with scale 3 "
                 "(exploding) or 0.5 (vanishing), or He's N(0, 2/fan_in), made to keep it "
                 "level.")
    return _("**Try** sigmoid with 10 layers to see a gradient vanish.")


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
                parts.append(_("the {net} net's loss or weights stopped being finite numbers "
                               "at step {step:,} (dashed line)").format(
                                   net=_(v.label), step=v.diverged_at))
            elif outcomes[n] == "stuck":
                parts.append(_("the {net} net never left chance level ({chance:.0%}): "
                               "{end:.0%} at the end").format(
                                   net=_(v.label), chance=level,
                                   end=float(v.evals["heldout_acc"][-1])))
            else:
                best = float(np.nanmax(v.evals["heldout_acc"]))
                parts.append(_("the {net} net collapsed: it reached {best:.0%} at best, then "
                               "fell to {end:.0%}, chance level ({chance:.0%}), with its loss "
                               "still finite").format(
                                   net=_(v.label), best=best,
                                   end=float(v.evals["heldout_acc"][-1]), chance=level))
        others = [_(snap.nets[n].label) for n, o in outcomes.items() if o == "trained"]
        text = _("At learning rate {lr:g} {what}.").format(lr=cfg.effective_lr,
                                                          what=_("; ").join(parts))
        if others:
            text += _(" The {nets} net trained at the same rate. BN makes a layer's output "
                      "independent of its weights' scale, so an oversized step cannot blow the "
                      "activations up.").format(nets=and_list(others))
        elif len(failed) == len(outcomes):
            text += _(" Every net failed: this rate is too large even with BN.")
        return text
    stuck = [_(snap.nets[n].label) for n, o in outcomes.items() if o == "stuck"]
    note = (_("The {nets} net never left chance level ({chance:.0%}) at this rate: the gradient "
              "profile above shows whether its lowest layers got any signal.").format(
                  nets=and_list(stuck), chance=level) + " "
            if stuck else "")
    if cfg.lr_multiplier < 5:
        return note + _("**Try** the multiplier x5 and x30 (the BN paper's BN-x5 and BN-x30), "
                        "or the ReLU scenarios in the sidebar.")
    if any(o == "training" for o in outcomes.values()):
        return _("Neither net has failed at this rate so far.")
    return _("Neither net failed at this rate. **Try** a ReLU net (the ReLU scenarios) or a "
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
    text = _("**Exploding gradients:** at step {step:,} the plain net's gradients were "
             "**{lo:.0f} to {hi:.0f} times** the BN net's (median {median:.0f}), weight matrix "
             "by weight matrix: each of its {depth} layers multiplies the error signal by its "
             "large weights on the way down. BN divides each layer's input by its spread, so "
             "the weights' scale cancels.").format(step=step, lo=ratio.min(), hi=ratio.max(),
                                                   median=med, depth=cfg.depth)
    now = size_ratio(snap, latest=True)
    if now is not None and now[0] != step:
        text += _(" At step {step:,}: {median:.0f} times (median).").format(
            step=now[0], median=float(np.median(now[1])))
    bn = snap.nets["bn"]
    if (cfg.init == "scaled" and cfg.init_scale > 1 and cfg.lr_multiplier < 5
            and outcome(bn, chance(snap)) == "stuck"):
        s = cfg.init_scale
        text += _(" At this small rate the BN net barely learns: its hidden layers' outputs "
                  "ignore their weights' scale, so with weights {scale:g} times larger each step "
                  "changes them about {square:g} times less.").format(scale=s, square=s * s)
    return text
