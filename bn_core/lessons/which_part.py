"""Which part of BN does the work? Normalising, or the per-feature scale-and-shift after it?

One of the source explanations of BN wonders whether gamma and beta, not the normalisation,
are what speeds training, and proposes to test it. A run trains four twins from the same
weights on the same batches: plain, normalise only (gamma = 1, beta = 0 fixed), scale and shift
only (a learnable gamma * z + beta per unit, no normalisation) and full BN. The sentences below
are pure functions of the run's snapshot: accuracy early and late, training loss, and how still
the percentile band of a sigmoid's input stays, with each variant placed "like BN" or "like the
plain net" only when the run shows it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.i18n import N_, _
from bn_core.presets import PRESETS
from bn_core.lessons.distributions import BandDrift, band_drift, value_at_step

PART_NETS = ("plain", "norm_only", "affine_only", "bn")
VARIANTS = ("norm_only", "affine_only")
EARLY_STEP = 100          # the early step quoted: BN's head start is largest in the first steps
TARGET_ACCURACY = 0.8     # "steps to 80 % held-out accuracy"
CHANCE = 0.1              # 10 classes
LIKE = 0.75               # a variant within the nearest quarter of the plain-BN gap is "like" it
NO_GAP = 0.02             # plain and BN closer than this (accuracy): nothing to attribute
STILL = 0.5               # a median that wandered under half as far as the plain net's is "still"
FLAT_BAND = 0.05          # a band narrower than this is flat: every example gives the same input


@dataclass(frozen=True)
class PartSummary:
    """What one net of the run measured."""

    name: str
    label: str
    status: str
    diverged_at: int | None
    step: int                  # last evaluation
    early_acc: float           # held-out accuracy at EARLY_STEP (nan before it)
    final_acc: float           # held-out accuracy at the last evaluation
    steps_to_target: int | None  # first evaluation at or above TARGET_ACCURACY
    train_loss: float          # training-mode loss at the last probe (mean since the one before)
    band: BandDrift | None     # the chosen layer's percentile band, first probe -> now

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"


def part_summary(view, layer: int, pooled: bool = False) -> PartSummary:
    """Summarise one NetView: accuracy, loss, and the band of hidden layer `layer` (0-based)."""
    ev, pr = view.evals, view.probes
    steps = np.asarray(ev.get("step", []))
    acc = np.asarray(ev.get("heldout_acc", []), np.float64)
    reached = np.flatnonzero(np.isfinite(acc) & (acc >= TARGET_ACCURACY))
    losses = np.asarray(pr.get("loss", []), np.float64)
    losses = losses[np.isfinite(losses)]
    key = "pooled_pct" if pooled else "unit_pct"
    band = None
    if key in pr and len(pr[key]) and 0 <= layer < pr[key].shape[1]:
        band = band_drift(pr[key][:, layer, :])
    return PartSummary(
        name=view.name, label=view.label, status=view.status, diverged_at=view.diverged_at,
        step=int(steps[-1]) if len(steps) else 0,
        early_acc=value_at_step(steps, acc, EARLY_STEP) if len(steps) else math.nan,
        final_acc=float(acc[np.isfinite(acc)][-1]) if np.isfinite(acc).any() else math.nan,
        steps_to_target=int(steps[reached[0]]) if len(reached) else None,
        train_loss=float(losses[-1]) if len(losses) else math.nan, band=band)


def summaries(snapshot, layer: int | None = None, pooled: bool = False) -> dict[str, PartSummary]:
    """Every net's summary; `layer` defaults to the last hidden layer (the paper's Figure 1)."""
    layer = snapshot.config.depth - 1 if layer is None else layer
    return {name: part_summary(view, layer, pooled) for name, view in snapshot.nets.items()}


def resemblance(value: float, plain: float, bn: float, gap: float = NO_GAP) -> str | None:
    """Where `value` sits between the plain net's and BN's: "bn", "plain", "between",
    "beyond_bn" or "below_plain"; None when plain and BN are too close to tell apart."""
    if not all(math.isfinite(v) for v in (value, plain, bn)) or abs(bn - plain) < gap:
        return None
    t = (value - plain) / (bn - plain)
    if t > 1 + (1 - LIKE):
        return "beyond_bn"
    if t >= LIKE:
        return "bn"
    if t < -(1 - LIKE):
        return "below_plain"
    if t <= 1 - LIKE:
        return "plain"
    return "between"


RESEMBLANCE_WORDS = {"bn": N_("like BN"), "plain": N_("like the plain net"),
                     "between": N_("in between"), "beyond_bn": N_("even better than BN"),
                     "below_plain": N_("worse than the plain net")}
# What a verdict is about, said inside its sentence (each verdict is one message per case).
TOPIC_WORDS = {"early": N_("the early speed"), "final": N_("the accuracy at this step")}


def _acc(value: float) -> str:
    return _("not reached yet") if not math.isfinite(value) else f"{value:.0%}"


def _net_acc(s: PartSummary, value: float) -> str:
    """One net's accuracy in a list: "Plain 10%", or "Plain 10% (diverged at step 250)"."""
    if s.diverged:
        return _("{net} {acc} (diverged at step {step})").format(
            net=_(s.label), acc=_acc(value), step=s.diverged_at)
    return _("{net} {acc}").format(net=_(s.label), acc=_acc(value))


def _verdict(where: dict[str, str | None], what: str) -> str | None:
    """The sentence that attributes `what` (a TOPIC_WORDS key) to a part of BN, from where the
    two variants sit."""
    norm, affine = where.get("norm_only"), where.get("affine_only")
    if norm is None or affine is None:
        return None
    topic = _(TOPIC_WORDS[what])
    if norm in ("bn", "beyond_bn") and affine in ("plain", "below_plain"):
        return _("**So the normalisation does the work here for {topic}**: normalising alone "
                 "behaves like BN, scaling and shifting alone like the plain net.").format(
                     topic=topic)
    if affine in ("bn", "beyond_bn") and norm in ("plain", "below_plain"):
        return _("**So the scale-and-shift does the work here for {topic}**: it alone behaves "
                 "like BN, normalising alone like the plain net.").format(topic=topic)
    if norm in ("bn", "beyond_bn") and affine in ("bn", "beyond_bn"):
        return _("Here either part alone is enough for {topic}: both variants behave like "
                 "BN.").format(topic=topic)
    if norm in ("plain", "below_plain") and affine in ("plain", "below_plain"):
        return _("Neither part alone gives BN's {topic} here: both variants behave like the "
                 "plain net, so it takes the two together.").format(topic=topic)
    return _("The run does not single out one part for {topic}: normalise only is {norm}, "
             "scale and shift only {affine}.").format(
                 topic=topic, norm=_(RESEMBLANCE_WORDS[norm]),
                 affine=_(RESEMBLANCE_WORDS[affine]))


def findings(snapshot, layer: int | None = None, pooled: bool = False) -> list[str]:
    """The sentences the page prints, each computed from the run; empty before the first
    evaluation. Needs "plain" and "bn" in the run to compare the variants with."""
    topics = findings_by_topic(snapshot, layer, pooled)
    return topics["speed"] + topics["fit"] + topics["bands"]


def findings_by_topic(snapshot, layer: int | None = None, pooled: bool = False
                      ) -> dict[str, list[str]]:
    """`findings` in three groups, one per chart of the page: "speed" (accuracy early and the
    steps to 80%), "fit" (accuracy and training loss now, what gamma and beta add) and "bands"
    (how still each net's percentile band stayed). All empty before the first evaluation.
    "verdict" holds the early-speed verdict (also in "speed"), the page's one-line summary."""
    out = {"speed": [], "fit": [], "bands": [], "verdict": []}
    s = summaries(snapshot, layer, pooled)
    if "plain" not in s or "bn" not in s or not any(v.step for v in s.values()):
        return out
    plain, bn = s["plain"], s["bn"]
    present = [n for n in PART_NETS if n in s]
    layer = snapshot.config.depth - 1 if layer is None else layer
    speed, fit, band_text = out["speed"], out["fit"], out["bands"]
    sep = _(", ")
    # 1. early accuracy
    if all(math.isfinite(s[n].early_acc) for n in present):
        parts = sep.join(_net_acc(s[n], s[n].early_acc) for n in present)
        speed.append(_("**Held-out accuracy at step {step}**: {nets} (chance: "
                       "{chance:.0%}).").format(step=EARLY_STEP, nets=parts, chance=CHANCE))
        where = {v: resemblance(s[v].early_acc, plain.early_acc, bn.early_acc)
                 for v in VARIANTS if v in s}
        verdict = _verdict(where, "early")
        if verdict:
            speed.append(verdict)
            out["verdict"].append(verdict)
        elif abs(bn.early_acc - plain.early_acc) < NO_GAP:
            speed.append(_("At step {step} BN and the plain net are level ({bn} vs {plain}): "
                           "no head start to attribute here.").format(
                               step=EARLY_STEP, bn=_acc(bn.early_acc),
                               plain=_acc(plain.early_acc)))
    else:
        speed.append(_("Step {step} is not reached yet.").format(step=EARLY_STEP))
    reach = [_("{net} not yet").format(net=_(s[n].label)) if s[n].steps_to_target is None
             else _("{net} step {step:,}").format(net=_(s[n].label), step=s[n].steps_to_target)
             for n in present]
    speed.append(_("**First evaluation at {target:.0%} held-out accuracy**: {nets}.").format(
        target=TARGET_ACCURACY, nets=sep.join(reach)))
    # 2. the end of the run so far
    step = max(v.step for v in s.values())
    finals = sep.join(_net_acc(s[n], s[n].final_acc) for n in present)
    losses = sep.join(_("{net} {loss:.3g}").format(net=_(s[n].label), loss=s[n].train_loss)
                      for n in present if math.isfinite(s[n].train_loss))
    fit.append(_("**At step {step:,}**: held-out accuracy {finals}; training loss "
                 "{losses}.").format(step=step, finals=finals, losses=losses))
    final_where = {v: resemblance(s[v].final_acc, plain.final_acc, bn.final_acc)
                   for v in VARIANTS if v in s}
    if step > EARLY_STEP:
        verdict = _verdict(final_where, "final")
        if verdict:
            fit.append(verdict)
        elif all(math.isfinite(s[n].final_acc) for n in present):
            spread = max(s[n].final_acc for n in present) - min(s[n].final_acc for n in present)
            fit.append(_("By step {step:,} the four nets are within {spread:.1%} of each other "
                         "in held-out accuracy: the difference is in how fast they got "
                         "there.").format(step=step, spread=spread))
    if "norm_only" in s and math.isfinite(s["norm_only"].train_loss) \
            and math.isfinite(bn.train_loss) and step > EARLY_STEP:
        values = {"bn": bn.train_loss, "norm": s["norm_only"].train_loss}
        if bn.train_loss < s["norm_only"].train_loss:
            fit.append(_("With gamma and beta learnable, BN's training loss is {bn:.3g} against "
                         "{norm:.3g} for normalising alone: the scale-and-shift helps the net "
                         "fit its training data.").format(**values))
        else:
            fit.append(_("With gamma and beta learnable, BN's training loss is {bn:.3g} against "
                         "{norm:.3g} for normalising alone: here the scale-and-shift did not "
                         "lower it.").format(**values))
    # 3. the percentile bands
    bands = {n: s[n].band for n in present if s[n].band is not None}
    if "plain" in bands and len(bands) >= 2:
        unit = _("all units pooled") if pooled else _("unit {unit}").format(
            unit=snapshot.config.probe_unit)
        rows = []
        for n, b in bands.items():
            if b.width_now < FLAT_BAND:
                rows.append(_("{net} {range:.2f} (flat: every digit gives this unit the same "
                              "input)").format(net=_(s[n].label), range=b.median_range))
            else:
                rows.append(_("{net} {range:.2f}").format(net=_(s[n].label),
                                                          range=b.median_range))
        band_text.append(_("**Percentile band of layer {layer}'s input ({unit})**: its median "
                           "wandered over a range of {nets}.").format(
                               layer=layer + 1, unit=unit, nets=sep.join(rows)))
        plain_range = bands["plain"].median_range
        if plain_range > 0:
            still = {n: b.median_range < STILL * plain_range for n, b in bands.items()
                     if n != "plain"}
            names = [_(s[n].label) for n, ok in still.items() if ok]
            moving = [_(s[n].label) for n, ok in still.items() if not ok]
            if names and moving:
                band_text.append(_("Much stiller than the plain net's (under half its range): "
                                   "{still}. Not: {moving}.").format(
                                       still=sep.join(names), moving=sep.join(moving)))
            elif names:
                band_text.append(_("Much stiller than the plain net's (under half its range): "
                                   "{still}.").format(still=sep.join(names)))
            else:
                band_text.append(_("No net's band stayed much stiller than the plain net's "
                                   "here."))
            if still.get("norm_only") and not still.get("affine_only", True):
                band_text.append(_("**The normalisation is what holds the distribution still**; "
                                   "the scale-and-shift alone lets it move as much as in the "
                                   "plain net."))
    return out


# ---------------------------------------------------------------------------- presets, claims

FIGURE1_PART = PRESETS["which-part-figure1"].config
DEEP_SIGMOID_PART = PRESETS["which-part-deep-sigmoid"].config


def claims(seeds=(0, 1, 2), quick: bool = False) -> list[dict]:
    """This lesson's claims, measured by training the preset runs on each seed.

    quick: 600 steps on the Figure 1 net and 1,000 on the deep sigmoid net (not 3,000)."""
    from bn_core.engine.training import train_to_end  # trains: imported only when measuring

    fig_steps, deep_steps = (600, 1000) if quick else (3000, 3000)
    rows = {k: {} for k in ("early", "bands", "fit", "deep")}
    for seed in seeds:
        fig = summaries(train_to_end(FIGURE1_PART.replace(seed=seed, steps=fig_steps)))
        deep = summaries(train_to_end(DEEP_SIGMOID_PART.replace(seed=seed, steps=deep_steps)))
        rows["early"][seed] = {n: round(fig[n].early_acc, 3) for n in PART_NETS}
        rows["bands"][seed] = {n: round(fig[n].band.median_range, 3) for n in PART_NETS}
        rows["fit"][seed] = {n: round(fig[n].train_loss, 4) for n in ("norm_only", "bn")} | \
            {f"{n}_heldout": round(fig[n].final_acc, 3) for n in ("norm_only", "bn")}
        rows["deep"][seed] = {n: round(deep[n].final_acc, 3) for n in PART_NETS}

    def early_ok(v):
        return (abs(v["norm_only"] - v["bn"]) <= 0.05
                and abs(v["affine_only"] - v["plain"]) <= 0.05 and v["bn"] - v["plain"] > 0.3)

    def bands_ok(v):
        return v["norm_only"] < STILL * v["plain"] and v["bn"] < STILL * v["plain"] \
            and v["affine_only"] >= STILL * v["plain"]

    def deep_ok(v):
        return max(v["plain"], v["affine_only"]) <= 0.15 and min(v["norm_only"], v["bn"]) >= 0.85

    fig_setup = (f"Figure 1 net (3x100 sigmoid, batch 60, SGD lr 0.5, MNIST subset), "
                 f"{fig_steps:,} steps")
    return [
        {"claim": f"Normalising alone gives BN's head start: at step {EARLY_STEP} the "
                  "normalise-only net's held-out accuracy is within 0.05 of BN's and the "
                  "scale-and-shift-only net's within 0.05 of the plain net's (BN at least 0.3 "
                  f"ahead of plain). {fig_setup}.",
         "values": rows["early"], "holds": all(early_ok(v) for v in rows["early"].values())},
        {"claim": "Normalising alone keeps the last hidden layer's sigmoid input still: the "
                  "median of unit 0's 15/50/85 band wanders under half as far for normalise "
                  "only and for BN as for the plain net, and not for scale-and-shift only "
                  f"(values: the median's range). {fig_setup}.",
         "values": rows["bands"], "holds": all(bands_ok(v) for v in rows["bands"].values())},
        {"claim": "gamma and beta help fitting: at the end BN's training loss is below the "
                  f"normalise-only net's (held-out accuracies given too). {fig_setup}.",
         "values": rows["fit"],
         "holds": all(v["bn"] < v["norm_only"] for v in rows["fit"].values())},
        {"claim": "On a deep sigmoid net (10x64, lr 0.5) the plain and scale-and-shift-only "
                  "nets stay at chance (held-out accuracy <= 0.15) while normalise-only and BN "
                  f"pass 0.85, after {deep_steps:,} steps.",
         "values": rows["deep"], "holds": all(deep_ok(v) for v in rows["deep"].values())},
    ]
