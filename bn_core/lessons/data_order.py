"""The order a run feeds its training data in (T8): each batch's label mix, exactly as the run
trains on it, and summaries of accuracy that swings as the batches change class."""
from __future__ import annotations

import math

import numpy as np

from bn_core.data.datasets import class_mix_entropy
from bn_core.engine.training import BatchSchedule

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
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.0%}"


def order_words(shuffle: float) -> str:
    """The data order in words: sorted by class, fully shuffled, or how far in between."""
    if shuffle == 0.0:
        return "sorted by class"
    if shuffle == 1.0:
        return "fully shuffled"
    return f"{shuffle:.0%} of the way from sorted to shuffled"


def mix_text(mix: dict, n_batches: int, per_epoch: int, batch_size: int, shuffle: float) -> str:
    """What the batches of this run hold, from their label counts (`mix_summary`)."""
    return (f"**The batches this run is fed ({order_words(shuffle)})**\n"
            f"- {mix['single_class']:.0%} of the first {n_batches} batches hold a single class\n"
            f"- mean label entropy per batch: **{mix['entropy_bits']:.2f} bits** (0 = one class "
            f"per batch, {mix['max_bits']:.2f} = evenly mixed)\n"
            f"- one epoch = {per_epoch} batches of {batch_size}")


def mix_look_for(mix: dict, shuffle: float) -> str:
    """How to read the strip, for the mix this run has, and what to try next."""
    look = ("**Look for** solid blocks: the nets see a long run of one class, then a long run "
            "of the next, again every epoch." if mix["single_class"] >= 0.5 else
            "**Look for** the patchwork: most batches hold several classes in changing "
            "proportions, a fair sample of the whole set.")
    try_ = ("to 1 and watch the blocks break up." if shuffle < 1.0 else
            "back to 0 and watch the blocks form.")
    return (f"Each column is one batch (one training step), each row a class; dark = most of "
            f"the batch. {look}\n\n**Try** moving *Shuffling* {try_}")


def accuracy_rows(snap) -> str:
    """Each net's held-out accuracy now and its range over the last evaluations (Markdown)."""
    rows = []
    for view in snap.nets.values():
        acc = view.evals.get("heldout_acc")
        recent = recent_range(acc) if acc is not None else None
        if recent is None:
            continue
        _, lo, hi = recent
        rows.append(f"- **{view.label}**: **{_pct(float(acc[-1]))}** now; over the last "
                    f"{min(len(acc), RECENT_EVALS)} evaluations between {_pct(lo)} and {_pct(hi)}")
    chance = 1.0 / snap.data.n_classes if snap.data is not None else math.nan
    return (f"**Held-out accuracy at step {snap.step:,}** (chance: {_pct(chance)})\n"
            + "\n".join(rows))


def verdict(snap) -> str:
    """Which nets are stuck near chance and which learn, from the run; why sorted batches stop
    a net learning when that is what the run shows."""
    if snap.data is None or not snap.nets:
        return ""
    chance = 1.0 / snap.data.n_classes
    lately = {v.label: r for v in snap.nets.values()
              if (r := recent_range(v.evals.get("heldout_acc", []))) is not None}
    if snap.step < EARLY_STEPS or not lately:
        return "The nets have only just started: give them a few hundred steps."
    stuck = [name for name, r in lately.items() if r[0] < chance + CLOSE_TO_CHANCE]
    if not stuck:
        who = "Both nets are" if len(lately) == 2 else f"{len(lately)} of {len(lately)} nets are"
        who = f"The {next(iter(lately))} net is" if len(lately) == 1 else who
        text = f"{who} more than {100 * CLOSE_TO_CHANCE:.0f} points above chance lately"
        if snap.config.shuffle < 0.5:
            return (text + f", with the batches {order_words(snap.config.shuffle)}: on this "
                    "data and batch size the order does not stop them learning.")
        return text + ": the batches are mixed enough to learn from."
    text = (f"**{' and '.join(stuck)}** {'is' if len(stuck) == 1 else 'are'} within "
            f"{100 * CLOSE_TO_CHANCE:.0f} points of chance lately")
    if snap.config.shuffle < 0.5:
        text += (": each run of one-class batches pulls a net towards \"everything is this "
                 "class\", and the next run undoes it.")
    else:
        text += "."
    learns = [name for name in lately if name not in stuck]
    if learns:
        text += f" The {' and '.join(learns)} net learns from the same batches."
        if "BN" in stuck and snap.config.shuffle < 0.5:
            text += (" BN normalises each batch with its own mean and variance: in a one-class "
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
        what = (f"paints **{share[top]:.0%}** of the plane as class {top}" if share[top] >= 0.9
                else "splits the plane " + ", ".join(f"class {k} {s:.0%}"
                                                     for k, s in enumerate(share)))
        rows.append(f"- **{view.label}** {what}")
    return f"**Decision regions at step {snap.step:,}**\n" + "\n".join(rows)
