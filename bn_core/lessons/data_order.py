"""The order a run feeds its training data in (T8): each batch's label mix, exactly as the run
trains on it, and summaries of accuracy that swings as the batches change class."""
from __future__ import annotations

import math

import numpy as np

from bn_core.data.datasets import class_mix_entropy
from bn_core.engine.training import BatchSchedule
from bn_core.i18n import _
from bn_core.lessons.covariate_shift import and_list

STRIP_BATCHES = 100   # batches shown in the label-mix strip
RECENT_EVALS = 10     # evaluations summarised as "lately"


def label_strip(y, n_classes: int, batch_size: int, shuffle: float, seed: int,
                n_batches: int = STRIP_BATCHES) -> np.ndarray:
    """Label counts (n_batches, n_classes) of the first `n_batches` update steps of a run,
    from the run's own batch schedule (epochs re-ordered afresh, a partial last batch dropped)."""
    y = np.asarray(y)
    schedule = BatchSchedule(y, batch_size, shuffle, seed)
    if schedule.per_epoch < 1:
        raise ValueError(f"batch_size: got {batch_size}; the data set has only {len(y)} examples")
    rows = [np.bincount(y[schedule.indices(step).numpy()], minlength=n_classes)[:n_classes]
            for step in range(int(n_batches))]
    return np.stack(rows) if rows else np.zeros((0, n_classes), np.int64)


def batches_per_epoch(n_examples: int, batch_size: int) -> int:
    """Update steps in one pass over the data (the run drops a partial last batch)."""
    return n_examples // batch_size


def single_class_share(counts) -> float:
    """The share of batches that hold one class only (0 when empty)."""
    counts = np.asarray(counts)
    if len(counts) == 0:
        return 0.0
    return float(np.mean((counts > 0).sum(axis=1) == 1))


def mix_summary(counts) -> dict:
    """Mean label entropy per batch (bits), its maximum log2(n_classes), and the share of
    single-class batches: 0 bits and 100 % when sorted, near the maximum and 0 % shuffled."""
    counts = np.asarray(counts)
    n_classes = counts.shape[1] if counts.ndim == 2 else 0
    return {"entropy_bits": class_mix_entropy(counts) if len(counts) else 0.0,
            "max_bits": math.log2(n_classes) if n_classes > 1 else 0.0,
            "single_class": single_class_share(counts)}


def recent_range(values, last: int = RECENT_EVALS) -> tuple[float, float, float] | None:
    """(mean, min, max) of the last `last` finite values, or None if there are none: an
    accuracy that swings from batch to batch is better quoted as a range than one number."""
    v = np.asarray(values, dtype=np.float64)[-last:]
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    return float(v.mean()), float(v.min()), float(v.max())


# ---------------------------------------------------------------------------- page text

CLOSE_TO_CHANCE = 0.10  # lately within 10 points of chance: the net is not learning
EARLY_STEPS = 200       # before this, the nets have only just started


def _pct(value) -> str:
    return _("n/a") if value is None or not math.isfinite(value) else f"{value:.0%}"


def order_words(shuffle: float) -> str:
    """The data order in words: sorted by class, fully shuffled, or how far in between."""
    if shuffle == 0.0:
        return _("sorted by class")
    if shuffle == 1.0:
        return _("fully shuffled")
    return _("{share:.0%} of the way from sorted to shuffled").format(share=shuffle)


def mix_text(mix: dict, n_batches: int, per_epoch: int, batch_size: int, shuffle: float) -> str:
    """What the batches of this run hold, from their label counts (`mix_summary`)."""
    return "\n".join([
        _("**The batches this run is fed ({order})**").format(order=order_words(shuffle)),
        _("- {share:.0%} of the first {n} batches hold a single class").format(
            share=mix["single_class"], n=n_batches),
        _("- mean label entropy per batch: **{bits:.2f} bits** (0 = one class per batch, "
          "{top:.2f} = evenly mixed)").format(bits=mix["entropy_bits"], top=mix["max_bits"]),
        _("- one epoch = {per_epoch} batches of {size}").format(per_epoch=per_epoch,
                                                                size=batch_size)])


def mix_look_for(mix: dict, shuffle: float) -> str:
    """How to read the strip, for the mix this run has, and what to try next."""
    look = (_("**Look for** solid blocks: the nets see a long run of one class, then a long "
              "run of the next, again every epoch.") if mix["single_class"] >= 0.5 else
            _("**Look for** the patchwork: most batches hold several classes in changing "
              "proportions, a fair sample of the whole set."))
    try_ = (_("**Try** moving *Shuffling* to 1 and watch the blocks break up.") if shuffle < 1.0
            else _("**Try** moving *Shuffling* back to 0 and watch the blocks form."))
    return (_("Each column is one batch (one training step), each row a class; dark = most of "
              "the batch.") + f" {look}\n\n{try_}")


def accuracy_rows(snap) -> str:
    """Each net's held-out accuracy now and its range over the last evaluations (Markdown)."""
    rows = []
    for view in snap.nets.values():
        acc = view.evals.get("heldout_acc")
        recent = recent_range(acc) if acc is not None else None
        if recent is None:
            continue
        _mean, lo, hi = recent
        rows.append(_("- **{net}**: **{now}** now; over the last {n} evaluations between {lo} "
                      "and {hi}").format(net=_(view.label), now=_pct(float(acc[-1])),
                                         n=min(len(acc), RECENT_EVALS), lo=_pct(lo),
                                         hi=_pct(hi)))
    chance = 1.0 / snap.data.n_classes if snap.data is not None else math.nan
    return (_("**Held-out accuracy at step {step:,}** (chance: {chance})").format(
        step=snap.step, chance=_pct(chance)) + "\n" + "\n".join(rows))


def verdict(snap) -> str:
    """Which nets are stuck near chance and which learn, from the run; why sorted batches stop
    a net learning when that is what the run shows."""
    if snap.data is None or not snap.nets:
        return ""
    chance = 1.0 / snap.data.n_classes
    lately = {v.label: r for v in snap.nets.values()
              if (r := recent_range(v.evals.get("heldout_acc", []))) is not None}
    if snap.step < EARLY_STEPS or not lately:
        return _("The nets have only just started: give them a few hundred steps.")
    points = 100 * CLOSE_TO_CHANCE
    stuck = [name for name, r in lately.items() if r[0] < chance + CLOSE_TO_CHANCE]
    if not stuck:
        mixed = snap.config.shuffle >= 0.5
        if len(lately) == 1:
            who = _(next(iter(lately)))
            text = (_("The {net} net is more than {points:.0f} points above chance lately: the "
                      "batches are mixed enough to learn from.") if mixed else
                    _("The {net} net is more than {points:.0f} points above chance lately, "
                      "with the batches {order}: on this data and batch size the order does "
                      "not stop them learning."))
        elif len(lately) == 2:
            who = ""
            text = (_("Both nets are more than {points:.0f} points above chance lately: the "
                      "batches are mixed enough to learn from.") if mixed else
                    _("Both nets are more than {points:.0f} points above chance lately, with "
                      "the batches {order}: on this data and batch size the order does not stop "
                      "them learning."))
        else:
            who = ""
            text = (_("{n} of {n} nets are more than {points:.0f} points above chance lately: "
                      "the batches are mixed enough to learn from.") if mixed else
                    _("{n} of {n} nets are more than {points:.0f} points above chance lately, "
                      "with the batches {order}: on this data and batch size the order does not "
                      "stop them learning."))
        return text.format(net=who, n=len(lately), points=points,
                           order=order_words(snap.config.shuffle))
    names = and_list(_(n) for n in stuck)
    if snap.config.shuffle < 0.5:
        text = (_("**{nets}** is within {points:.0f} points of chance lately: each run of "
                  "one-class batches pulls a net towards \"everything is this class\", and the "
                  "next run undoes it.") if len(stuck) == 1 else
                _("**{nets}** are within {points:.0f} points of chance lately: each run of "
                  "one-class batches pulls a net towards \"everything is this class\", and the "
                  "next run undoes it."))
    else:
        text = (_("**{nets}** is within {points:.0f} points of chance lately.") if len(stuck) == 1
                else _("**{nets}** are within {points:.0f} points of chance lately."))
    text = text.format(nets=names, points=points)
    learns = [name for name in lately if name not in stuck]
    if learns:
        text += _(" The {nets} net learns from the same batches.").format(
            nets=and_list(_(n) for n in learns))
        if "BN" in stuck and snap.config.shuffle < 0.5:
            text += _(" BN normalises each batch with its own mean and variance: in a one-class "
                      "batch that subtracts away where the class lies, the very thing that "
                      "tells the classes apart.")
    return text


def region_shares(snap) -> str:
    """How much of the plane each net's decision regions give each class at the step shown
    (from its decision grid): a net that paints nearly all of it one class has not learnt a
    boundary (Markdown)."""
    rows = []
    for view in snap.nets.values():
        grid = view.latest.get("grid")
        if grid is None:
            continue
        n = snap.data.n_classes if snap.data is not None else int(grid[..., 0].max()) + 1
        share = np.bincount(grid[..., 0].ravel().astype(np.int64), minlength=n)[:n] / grid[..., 0].size
        top = int(np.argmax(share))
        if share[top] >= 0.9:
            row = _("- **{net}** paints **{share:.0%}** of the plane as class {k}").format(
                net=_(view.label), share=share[top], k=top)
        else:
            parts = _(", ").join(_("class {k} {share:.0%}").format(k=k, share=s)
                                 for k, s in enumerate(share))
            row = _("- **{net}** splits the plane {parts}").format(net=_(view.label),
                                                                   parts=parts)
        rows.append(row)
    return (_("**Decision regions at step {step:,}**").format(step=snap.step) + "\n"
            + "\n".join(rows))
