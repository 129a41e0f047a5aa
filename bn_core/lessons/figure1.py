"""Figure 1 at the paper's length (T4): what a 50,000-step run shows on each data set, as
measured, so the page can tell a student what they will and will not see before they wait.

Measured with `python -m bn_core reproduce fig1 --data DATA --seed S --steps 50000` (the
paper's net, SGD at learning rate 0.5, batch 60, grey-level pixels, held-out accuracy on 1,000
test images); the numbers are in docs/claims.md. A data set that was not measured says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bn_core.i18n import N_, _

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
        seeds=(0,), early=N_("at step 300 BN 89% vs plain 51%"),
        level_from=N_("about step 3,000"),
        final=N_("BN 94.5% vs plain 94.6%"),
        band=N_("the plain net's median moved most in the first few thousand steps, then "
                "settled (after the first 5,000 steps it moved over 0.07 vs BN's 0.22)"),
        why=N_("the 4,000 training digits are learnt by about step 3,000, so both nets stop "
               "there")),
    "fashion-mnist": LongRun(
        seeds=(0, 1, 2), early=N_("at step 300 BN 80-83% vs plain 52-59%; at step 3,000 85% "
                                  "vs 83-84%"),
        level_from=N_("about step 10,000-20,000"),
        final=N_("BN 86.7-89.4% vs plain 87.2-89.3% (one seed each way)"),
        band=N_("after the first 5,000 steps BN's median moved over less than the plain net's "
                "on seed 0 only (0.54 vs 0.95; seeds 1 and 2: 1.45 vs 1.06 and 1.13 vs 0.85)"),
        why=N_("with SGD at learning rate 0.5 both nets reach the same accuracy given time")),
}


def paper_length_note(dataset: str, binarize: bool = False) -> str:
    """What a student will and will not see in a 50,000-step run on `dataset`."""
    run = MEASURED.get(dataset)
    if run is None:
        return _("{steps:,} steps on this data set were not measured for BN Lab: the paper "
                 "reports BN ahead early and ending higher on full MNIST; watch whether this run "
                 "agrees.").format(steps=PAPER_STEPS)
    seeds = ", ".join(str(s) for s in run.seeds)
    where = _("this data set") if not binarize else _("the grey-level images")
    seed_word = _("seeds {seeds}") if len(run.seeds) > 1 else _("seed {seeds}")
    text = _("Measured on {where} ({seeds}): you **will see** BN's head start ({early}) and the "
             "nets level from {level_from}. You **will not see** BN end higher (step {steps:,}: "
             "{final}): {why}. The bands: {band}.").format(
                 where=where, seeds=seed_word.format(seeds=seeds), early=_(run.early),
                 level_from=_(run.level_from), steps=PAPER_STEPS, final=_(run.final),
                 why=_(run.why), band=_(run.band))
    if binarize:
        text += _(" (Binary images were not measured at this length.)")
    return text


# ---------------------------------------------------------------------------- live page text

def _acc(value: float) -> str:
    return _("not reached yet") if math.isnan(value) else f"{value:.0%}"


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
        at_mark = "" if now_step == mark_step else _("; {acc} at step {step}").format(
            acc=_acc(early), step=mark_step)
        rows.append(_("- **{net}**: {acc} at step {step:,}").format(
                        net=_(view.label), acc=_acc(float(ev['heldout_acc'][-1])), step=now_step)
                    + at_mark
                    + (_(" (diverged at step {step})").format(step=view.diverged_at)
                       if view.status == "diverged" else ""))
    return _("**Held-out accuracy, measured on this run**") + "\n" + "\n".join(rows)


def band_text(snap, layer: int, pooled: bool) -> str:
    """How each net's percentile band of the layer's input moved, from the run, and which
    net's median wandered further."""
    from bn_core.lessons.distributions import band_drift
    from bn_core.nets.zones import SATURATION_THRESHOLD

    cfg = snap.config
    key = "pooled_pct" if pooled else "unit_pct"
    what = _("all units pooled") if pooled else _("unit {unit}").format(unit=cfg.probe_unit)
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
            sat = _("; {share:.0%} of the layer's inputs are in the saturated zones now").format(
                share=float(pr['saturated'][-1, layer]))
        rows.append(_("- **{net}**: the median went from {start:+.2f} to {now:+.2f}, wandering "
                      "over a range of **{range:.2f}**; the band ({lo:g}th to {hi:g}th) went "
                      "from {width_start:.2f} to {width_now:.2f} wide{saturated}.").format(
                          net=_(view.label), start=d.median_start, now=d.median_now,
                          range=d.median_range, lo=cfg.percentiles[0], hi=cfg.percentiles[-1],
                          width_start=d.width_start, width_now=d.width_now, saturated=sat))
    probed = max((int(v.probes["step"][-1]) for v in snap.nets.values()
                  if len(v.probes.get("step", ()))), default=0)
    text = _("**Layer {layer}, {what}, step 0 → {step:,}**").format(
        layer=layer + 1, what=what, step=probed) + "\n" + "\n".join(rows)
    if "plain" in drifts and "bn" in drifts and drifts["bn"].median_range > 0:
        p, b = drifts["plain"].median_range, drifts["bn"].median_range
        if p >= b:
            text += "\n\n" + _("The plain net's median wandered **{ratio:.1f} times** as far "
                                 "as the BN net's.").format(ratio=p / b)
        else:
            text += "\n\n" + _("Here the BN net's median wandered further than the plain "
                                 "net's ({bn:.2f} vs {plain:.2f}).").format(bn=b, plain=p)
    return text


# What the accuracy and band charts show, in words: each sentence follows the run on screen
# (a head start or none, a net that diverged or never left chance, a stiller band or not).
CLEAR_LEAD = 0.10      # BN this far ahead at the marked step: Figure 1 (a)'s head start
LEVEL = 0.02           # two accuracies this close count as level
NEAR_CHANCE = 0.05     # an accuracy this close to chance (1 / classes) has learnt nothing
STILLER = 1.5          # BN's median wandering this many times less: "held in place"


def _points(x: float) -> str:
    return _("{points:.0f} points").format(points=abs(x) * 100)


def _chance(snap) -> float:
    return 1.0 / max(2, int(getattr(snap.data, "n_classes", 10) or 10))


def _name(view) -> str:
    """A net's label inside a sentence: "plain", "BN" (the translated label in another
    language)."""
    shown = _(view.label)
    if shown != view.label:
        return shown
    return view.label if view.label.isupper() else view.label.lower()


def _heldout(view):
    ev = view.evals
    if len(ev.get("step", ())) == 0:
        return None
    return ev["step"], ev["heldout_acc"]


def accuracy_reading(snap, mark_step: int, limit: int | None = None) -> str:
    """What this run's accuracy chart shows, computed from it: BN's head start at `mark_step`
    (or its absence, or the opposite), a net that diverged or sits at chance, and how the two
    nets stand at the latest evaluation (the first `limit` sentences only, if given)."""
    from bn_core.lessons.distributions import value_at_step

    nets = snap.nets
    if not {"plain", "bn"} <= set(nets) or any(_heldout(nets[n]) is None for n in ("plain", "bn")):
        return ""
    plain, bn = nets["plain"], nets["bn"]
    out = []
    diverged = [v for v in (plain, bn) if v.status == "diverged"]
    for v in diverged:
        other = bn if v is plain else plain
        if other in diverged:
            out.append(_("The {net} net **diverged at step {step:,}**: its weights stopped "
                         "being finite numbers, so its curve ends there.").format(
                             net=_name(v), step=v.diverged_at))
        else:
            out.append(_("The {net} net **diverged at step {step:,}**: its weights stopped "
                         "being finite numbers, so its curve ends there, while the {other} net "
                         "goes on ({acc:.0%} now).").format(
                             net=_name(v), step=v.diverged_at, other=_name(other),
                             acc=float(_heldout(other)[1][-1])))
    chance = _chance(snap)
    for v in (plain, bn):
        steps, acc = _heldout(v)
        if v not in diverged and int(steps[-1]) >= mark_step \
                and float(acc[-1]) <= chance + NEAR_CHANCE:
            out.append(_("The {net} net is **at chance** ({acc:.0%}, one digit in {n}): it "
                         "has learnt nothing by step {step:,}.").format(
                             net=_name(v), acc=float(acc[-1]), n=round(1 / chance),
                             step=int(steps[-1])))
    if not diverged:
        p = value_at_step(*_heldout(plain), mark_step)
        b = value_at_step(*_heldout(bn), mark_step)
        if math.isnan(p) or math.isnan(b):
            out.append(_("Watch step {step} (dotted line): that is where Figure 1 (a) shows "
                         "BN's head start; this run has not reached it yet.").format(
                             step=mark_step))
        elif b - p >= CLEAR_LEAD:
            out.append(_("At step {step} the BN net is **{points} ahead**: the head start of "
                         "Figure 1 (a).").format(step=mark_step, points=_points(b - p)))
        elif abs(b - p) < LEVEL:
            out.append(_("At step {step} the two nets are level ({plain:.0%} and {bn:.0%}): "
                         "this run does not show BN's head start.").format(
                             step=mark_step, plain=p, bn=b))
        elif b > p:
            out.append(_("At step {step} the BN net is only {points} ahead.").format(
                step=mark_step, points=_points(b - p)))
        else:
            out.append(_("At step {step} the **plain** net is {points} ahead: the opposite of "
                         "Figure 1 (a).").format(step=mark_step, points=_points(p - b)))
        ps, pa = _heldout(plain)
        last = int(min(ps[-1], _heldout(bn)[0][-1]))
        if last > mark_step:
            p_end = value_at_step(ps, pa, last)
            b_end = value_at_step(*_heldout(bn), last)
            if abs(b_end - p_end) < LEVEL:
                out.append(_("By step {step:,} they are level ({plain:.0%} and {bn:.0%}).").format(
                    step=last, plain=p_end, bn=b_end))
            elif b_end > p_end:
                out.append(_("At step {step:,} BN is still {points} ahead.").format(
                    step=last, points=_points(b_end - p_end)))
            else:
                out.append(_("At step {step:,} the plain net is {points} ahead.").format(
                    step=last, points=_points(p_end - b_end)))
    return " ".join(out[:limit])


def band_reading(snap, layer: int, pooled: bool) -> str:
    """What the percentile bands show, computed from the run: whether the BN net's input was
    held stiller than the plain net's (Figure 1 b, c), as far as the run has gone."""
    from bn_core.lessons.distributions import band_drift

    key = "pooled_pct" if pooled else "unit_pct"
    drift = {}
    for name in ("plain", "bn"):
        view = snap.nets.get(name)
        if view is None or key not in view.probes or len(view.probes["step"]) < 3:
            return ""
        drift[name] = band_drift(view.probes[key][:, layer, :])
        if drift[name] is None:
            return ""
    p, b = drift["plain"].median_range, drift["bn"].median_range
    if p >= STILLER * b:
        return _("The plain net's input moves as the layers below learn: that moving input is "
                 "*internal covariate shift*. BN re-centres and rescales it over every batch, "
                 "so its band moves much less: Figure 1 (b, c).")
    if p > b:
        return _("Here the BN net's band is only a little stiller than the plain net's (its "
                 "median wandered {ratio:.1f} times less): Figure 1 (b, c)'s contrast is weak on "
                 "this run.").format(ratio=p / b)
    return _("Here the BN net's input moved as much as the plain net's or more: this run does "
             "not show Figure 1 (b, c).")


def try_next(config, base) -> str:
    """One "Try ..." line: what to change next, given what this run already changed."""
    if config.lr_multiplier == base.lr_multiplier:
        return _("**Try** the learning rate x5 or x30 (the paper's BN-x5, BN-x30), or the "
                 "small N(0, 0.01^2) initial weights; each change starts a new run.")
    return _("**Try** x{multiplier:g} again to compare, or another layer or unit (the view "
             "settings do not restart the run).").format(multiplier=base.lr_multiplier)


def differences(config, base, names) -> list[str]:
    """The run settings among `names` where `config` differs from `base`, in words."""
    from bn_core.config import CHOICE_LABELS, SETTINGS

    out = []
    scaled = "init_scale" in names and config.init_scale != base.init_scale
    for name in names:
        value, default = getattr(config, name), getattr(base, name)
        if name == "init" and scaled and value != default:
            continue        # said once, with the scale, below
        if name == "init_scale" and value != default:
            out.append(_("initial weights N(0, {scale:g}^2/fan_in)").format(scale=value))
        elif value != default:
            spec = SETTINGS[name]
            shown = _(CHOICE_LABELS.get(name, {}).get(value, spec.format(value)))
            if name == "lr_multiplier":
                shown = f"x{value:g}"
            label = _(spec.label)
            if label == spec.label:      # English: lower case inside the sentence
                label = label[0].lower() + label[1:]
            out.append(_("{setting} {value}").format(setting=label, value=shown))
    return out


# The settings the paper-length measurements held at the page's defaults (the data set and
# binary images are named by `paper_length_note` itself, the length is what the button sets).
MEASURED_AT_DEFAULTS = ("lr", "lr_multiplier", "batch_size", "activation", "init", "init_scale")


def paper_length_caption(config, base) -> str:
    """`paper_length_note` for the data chosen, and, when other settings differ from those it
    was measured at, that the measurement does not cover them."""
    note = paper_length_note(config.dataset, config.binarize)
    changed = differences(config, base, MEASURED_AT_DEFAULTS)
    if changed and config.dataset in MEASURED:
        note += _(" That was measured at this page's other defaults; this run differs "
                  "({changes}), so watch what it shows.").format(changes=_("; ").join(changed))
    return note
