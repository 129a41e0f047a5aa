"""Your own 2-D data: the example data set, the drawing canvas (points clicked onto a grid) and
the sentences the page computes from a run on the student's data."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bn_core.config import RunConfig
from bn_core.data import custom
from bn_core.i18n import _

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "assets" / "custom_example.csv"
CANVAS_RANGE = (-3.0, 3.0)    # the drawing canvas, both axes
CANVAS_STEP = 0.25            # where a click lands: the nearest point of this grid
CLASS_NAMES = tuple("ABCDEFGHIJ")[:custom.MAX_CLASSES]
TARGET = 0.9                  # "steps to 90% held-out accuracy"


def example_points(seed: int = 7) -> custom.CustomPoints:
    """The example data set the page starts with: three overlapping clusters (apple, banana,
    cherry) on a curve, 150 points."""
    rng = np.random.default_rng(seed)
    xs, labels = [], []
    for k, name in enumerate(("apple", "banana", "cherry")):
        t = rng.uniform(0, 1, 50)
        angle = math.pi * (0.15 + 0.35 * k) + 1.2 * (t - 0.5)
        radius = 1.6 + 0.25 * rng.normal(size=50)
        xs.append(np.stack([radius * np.cos(angle), radius * np.sin(angle) - 0.6], axis=1))
        labels += [name] * 50
    return custom.from_points(np.round(np.concatenate(xs), 3), labels)


def example() -> custom.CustomPoints:
    """The example data set, read from its CSV in assets/ (registered in this process)."""
    points = custom.parse_csv(EXAMPLE_PATH.read_bytes())
    custom.register(points)
    return points


def page_config(dataset: str) -> RunConfig:
    """The page's default run on a data set: a 3 x 16 sigmoid net on standardised inputs,
    paced so that the boundaries can be watched moving (about 15 s)."""
    return RunConfig(dataset=dataset, whitening="standardize", depth=3, width=16,
                     activation="sigmoid", lr=0.5, batch_size=20, steps=1500, probe_every=20,
                     eval_every=20, grid_resolution=60, heldout_size=1000, pace=100.0)


def canvas_grid() -> np.ndarray:
    """The points a click on the canvas can land on: (k, 2), row-major in x2."""
    ticks = np.arange(CANVAS_RANGE[0], CANVAS_RANGE[1] + 1e-9, CANVAS_STEP)
    gx, gy = np.meshgrid(ticks, ticks)
    return np.round(np.stack([gx.ravel(), gy.ravel()], axis=1), 4)


def add_click(draft: list, point, label: str) -> list:
    """The draft with a clicked point added (replacing a point already at that spot)."""
    x = (round(float(point[0]), 4), round(float(point[1]), 4))
    return [p for p in draft if (p[0], p[1]) != x] + [(x[0], x[1], label)]


def draft_points(draft: list) -> custom.CustomPoints:
    """The drawn points as a data set (UploadError says what is missing)."""
    if not draft:
        raise custom.UploadError(_("No points yet: click at least {least} onto the canvas, in "
                                   "at least two classes.").format(least=custom.MIN_POINTS))
    return custom.from_points(np.array([p[:2] for p in draft], np.float64),
                              [p[2] for p in draft])


def describe(points: custom.CustomPoints, n_train: int) -> str:
    counts = _(", ").join(f"{name} {n}" for name, n in zip(points.classes, points.counts()))
    return _("{n:,} points in {classes} classes ({counts}); the nets train on {train:,} and a "
             "fifth of each class ({held:,}) is held out to measure accuracy.").format(
                 n=len(points.x), classes=points.n_classes, counts=counts, train=n_train,
                 held=len(points.x) - n_train)


def steps_to(view, metric: str = "heldout_acc", target: float = TARGET) -> int | None:
    ev = view.evals
    acc = np.asarray(ev.get(metric, []), np.float64)
    hit = np.flatnonzero(np.isfinite(acc) & (acc >= target))
    return int(ev["step"][hit[0]]) if len(hit) else None


def findings(snap) -> list[str]:
    """Each net's accuracy now, when it first reached TARGET held-out, and the comparison, as
    the run shows it."""
    out = []
    reached = {}
    for name, view in snap.nets.items():
        ev = view.evals
        if not len(ev.get("step", ())):
            continue
        s = steps_to(view)
        reached[name] = s
        values = dict(net=_(view.label), train=ev["train_acc"][-1],
                      heldout=ev["heldout_acc"][-1], step=int(ev["step"][-1]), target=TARGET,
                      first=s, state=view.status_shown)
        if view.status == "diverged":
            line = (_("- **{net}**: {train:.0%} of the training points, {heldout:.0%} of the "
                      "held-out points at step {step:,} ({state}); {target:.0%} held-out first "
                      "at step {first:,}.") if s is not None else
                    _("- **{net}**: {train:.0%} of the training points, {heldout:.0%} of the "
                      "held-out points at step {step:,} ({state}); not yet at {target:.0%} "
                      "held-out."))
        else:
            line = (_("- **{net}**: {train:.0%} of the training points, {heldout:.0%} of the "
                      "held-out points at step {step:,}; {target:.0%} held-out first at step "
                      "{first:,}.") if s is not None else
                    _("- **{net}**: {train:.0%} of the training points, {heldout:.0%} of the "
                      "held-out points at step {step:,}; not yet at {target:.0%} held-out."))
        out.append(line.format(**values))
    if {"plain", "bn"} <= set(reached):
        p, b = reached["plain"], reached["bn"]
        if p is not None and b is not None:
            out.append(_("Both nets got there; BN first.") if b < p else
                       _("Both nets got there; the plain net first.") if p < b else
                       _("Both nets got there; at the same evaluation."))
        elif b is not None:
            out.append(_("So far only the BN net has."))
        elif p is not None:
            out.append(_("So far only the plain net has."))
    return out
