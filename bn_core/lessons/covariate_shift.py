"""Measurements for the covariate-shift lesson (T1, T2), pure functions of recorded arrays.

T1: how a boundary learnt on training data fares as the test data is shifted step by step
(`accuracy_under_shift`, read off the recorded decision grid). T2: where the randomly
initialised first-layer boundaries lie relative to the data (`first_layer_lines`,
`units_cutting_data`) and how many steps a setting needs to reach an accuracy
(`steps_to_accuracy`).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from bn_core.config import RunConfig
from bn_core.data.datasets import Dataset, Whitener, shift_points
from bn_core.nets.models import initial_weights

SHIFT_FRACTIONS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))  # 0 %, 10 %, ..., 100 % of the shift
CUT_MARGIN = 0.05  # a unit "cuts through" the data if each side holds more than 5 % of it


def steps_to_accuracy(steps, accuracy, target: float) -> int | None:
    """The first recorded step at which `accuracy` reached `target` (None if it never did).

    NaN entries (no measurement) never count as reached."""
    steps, accuracy = np.asarray(steps), np.asarray(accuracy, dtype=np.float64)
    if steps.shape != accuracy.shape:
        raise ValueError(f"steps and accuracy differ in shape: {steps.shape} vs {accuracy.shape}")
    reached = np.nonzero(np.nan_to_num(accuracy, nan=-np.inf) >= target)[0]
    return int(steps[reached[0]]) if len(reached) else None


# ---------------------------------------------------------------------------- T1: test shift

def partial_shift(fraction: float, translate, rotate_deg: float, scale: float
                  ) -> tuple[tuple[float, float], float, float]:
    """`fraction` of a shift: translation and rotation scaled linearly, scale geometrically
    (so fraction 0 is no change and 1 is the whole shift)."""
    tx, ty = translate
    return (fraction * tx, fraction * ty), fraction * rotate_deg, float(scale) ** fraction


def unshift_points(x, translate, rotate_deg: float, scale: float, centre) -> np.ndarray:
    """The inverse of `datasets.shift_points` with the same arguments: the points before
    the shift."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(centre, dtype=np.float64)
    theta = np.deg2rad(rotate_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = x - c - np.asarray(translate, dtype=np.float64)
    # shift_points computes (x - c) @ (s R)^T: undo it with (1/s) R
    return moved @ rotation / scale + c


def grid_lookup(grid: np.ndarray, viewport, x) -> np.ndarray:
    """The class the decision grid (res, res, 2: class, confidence) predicts at points `x`:
    the nearest grid cell; points outside the viewport take the nearest edge cell."""
    res = grid.shape[0]
    xmin, xmax, ymin, ymax = viewport
    x = np.asarray(x, dtype=np.float64)
    col = np.rint((x[:, 0] - xmin) / (xmax - xmin) * (res - 1)).astype(np.int64)
    row = np.rint((x[:, 1] - ymin) / (ymax - ymin) * (res - 1)).astype(np.int64)
    return grid[np.clip(row, 0, res - 1), np.clip(col, 0, res - 1), 0].astype(np.int64)


def accuracy_under_shift(grid: np.ndarray, viewport, x, y, translate, rotate_deg: float,
                         scale: float, centre, fractions=SHIFT_FRACTIONS) -> np.ndarray:
    """Accuracy of one fixed boundary (a decision grid) on the points `x` (unshifted) moved by
    each fraction of the shift: the test accuracy the boundary would get if the test data had
    drifted only that far. Read off the grid, so accurate to about one grid cell."""
    y = np.asarray(y)
    out = np.empty(len(fractions), dtype=np.float32)
    for i, f in enumerate(fractions):
        t, r, s = partial_shift(f, translate, rotate_deg, scale)
        moved = shift_points(np.asarray(x, dtype=np.float64), t, r, s, centre=centre)
        out[i] = float(np.mean(grid_lookup(grid, viewport, moved) == y)) if len(y) else math.nan
    return out


def shift_sweep(data: Dataset, config: RunConfig, grid: np.ndarray, viewport,
                fractions=SHIFT_FRACTIONS) -> np.ndarray:
    """`accuracy_under_shift` for a run's test set: its points are moved back to where they
    were before the config's shift, then shifted again by each fraction (fraction 1 is the
    test set the run evaluates)."""
    translate = (config.shift_x, config.shift_y)
    centre = data.x_train.astype(np.float64).mean(axis=0)
    original = unshift_points(data.x_test, translate, config.rotate_deg, config.scale, centre)
    return accuracy_under_shift(grid, viewport, original, data.y_test, translate,
                                config.rotate_deg, config.scale, centre, fractions)


# ---------------------------------------------------------------------------- T2: whitening

@dataclass(frozen=True)
class UnitLines:
    """The first hidden layer's boundaries w_k . u = 0 at initialisation, in display
    coordinates: unit k's line passes through `anchor` perpendicular to `normals[k]`."""

    normals: np.ndarray  # (units, 2)
    anchor: np.ndarray   # (2,): the origin of the net's input space, in display coordinates

    def side(self, x) -> np.ndarray:
        """(n, units) True where a point lies on a unit's positive side (pre-activation > 0)."""
        return (np.asarray(x, dtype=np.float64) - self.anchor) @ self.normals.T > 0

    def segments(self, length: float) -> tuple[np.ndarray, np.ndarray]:
        """x and y arrays of the lines as segments of `length` either side of the anchor,
        separated by NaN (one Scatter trace draws them all)."""
        d = np.stack([-self.normals[:, 1], self.normals[:, 0]], axis=1)
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        a, b = self.anchor + length * d, self.anchor - length * d
        nan = np.full(len(d), np.nan)
        xs = np.stack([a[:, 0], b[:, 0], nan], axis=1).ravel()
        ys = np.stack([a[:, 1], b[:, 1], nan], axis=1).ravel()
        return xs.astype(np.float32), ys.astype(np.float32)


def first_layer_lines(config: RunConfig, whitener: Whitener, n_classes: int) -> UnitLines:
    """Where the run's first hidden layer draws its lines at initialisation (bias 0).

    The net sees u = (x - mean) @ M (the whitener), so unit k's pre-activation
    w_k . u = (M w_k) . (x - mean): a line through the whitener's mean (the origin when not
    whitened) with normal M w_k. The weights are the run's own (same seed, same draw)."""
    w1 = initial_weights(config, 2, n_classes)[0].numpy().astype(np.float64)  # (width, 2)
    normals = w1 @ np.asarray(whitener.matrix, dtype=np.float64).T
    return UnitLines(normals=normals, anchor=np.asarray(whitener.mean, dtype=np.float64))


def units_cutting_data(lines: UnitLines, x, margin: float = CUT_MARGIN) -> np.ndarray:
    """(units,) True where a unit's line cuts through the data: more than `margin` of the
    points lie on each side. A unit whose line misses the data gives every point the same
    sign, so it cannot tell any of them apart."""
    positive = lines.side(x).mean(axis=0)
    return (positive > margin) & (positive < 1.0 - margin)


def distance_from_origin(x) -> float:
    """How far the data's mean lies from the origin (data units)."""
    return float(np.linalg.norm(np.asarray(x, dtype=np.float64).mean(axis=0)))


# ---------------------------------------------------------------------------- instant re-scoring

TEST_ONLY = ("shift_x", "shift_y", "rotate_deg", "scale")  # settings that only move test data


def training_config(config: RunConfig) -> RunConfig:
    """The config a run trains: the test-only settings at their defaults, so that moving them
    never retrains (the page re-scores the recorded nets instead)."""
    return config.replace(shift_x=0.0, shift_y=0.0, rotate_deg=0.0, scale=1.0)


@functools.lru_cache(maxsize=4096)
def _scored(run_key: str, net: str, step: int, test_key: tuple, params_bytes: bytes,
            config: RunConfig) -> tuple[float, float]:
    """(accuracy, loss) of one recorded net on one shifted test set (cached: a recorded
    step's score never changes)."""
    import torch

    from bn_core.engine.training import load_data
    from bn_core.nets import probes
    from bn_core.nets.models import build_net, initial_weights, load_flat_parameters

    shifted = config.replace(**dict(zip(TEST_ONLY, test_key)))
    data = load_data(shifted)
    x = torch.from_numpy(data.model_input(data.x_test[:config.heldout_size]))
    y = torch.from_numpy(np.asarray(data.y_test[:config.heldout_size], np.int64))
    model = build_net(net, config, x.shape[1], data.n_classes,
                      initial_weights(config, x.shape[1], data.n_classes))
    load_flat_parameters(model, np.frombuffer(params_bytes, np.float32))
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return probes.accuracy(logits, y), float(probes.loss_of(logits, y, False))


def rescore(snap, shift_x: float, shift_y: float, rotate_deg: float, scale: float):
    """The snapshot of a run trained without a test shift, as if its test data had been
    shifted: the config and data carry the shift, and each net's test accuracy and loss are
    computed from its parameters recorded at each probe step (then read at the eval steps).
    Nothing retrains, so a student moving the shift sliders sees the result at once."""
    from dataclasses import replace

    from bn_core.engine.records import NetView
    from bn_core.engine.training import load_data

    test_key = (float(shift_x), float(shift_y), float(rotate_deg), float(scale))
    config = snap.config.replace(**dict(zip(TEST_ONLY, test_key)))
    if not snap.nets:
        return replace(snap, config=config)
    data = load_data(config)
    nets = {}
    for name, view in snap.nets.items():
        cps = view.checkpoints
        if not len(cps.get("step", ())):
            nets[name] = view
            continue
        scores = np.array([_scored(snap.key, name, int(s), test_key, p.tobytes(), snap.config)
                           for s, p in zip(cps["step"], cps["params"])], np.float64)
        evals = dict(view.evals)
        steps = evals.get("step", np.array([], np.int64))
        for j, metric in enumerate(("test_acc", "test_loss")):
            if len(steps):
                evals[metric] = np.interp(steps, cps["step"], scores[:, j]).astype(np.float32)
        nets[name] = NetView(**{**view.__dict__, "evals": evals})
    return replace(snap, config=config, data=data, nets=nets)


# ---------------------------------------------------------------------------- T2: page text

def first_reached(view, target: float) -> int | None:
    """The first evaluated step at which the net's training accuracy reached `target`."""
    return steps_to_accuracy(view.evals.get("step", []), view.evals.get("train_acc", []), target)


def reached_text(view, target: float) -> str:
    """When a net reached the target, or where it is if it has not."""
    hit = first_reached(view, target)
    if hit is not None:
        return f"**step {hit:,}**"
    acc = view.evals.get("train_acc")
    now = float(acc[-1]) if acc is not None and len(acc) else math.nan
    done = view.status != "training"
    shown = "n/a" if not math.isfinite(now) else f"{now:.0%}"
    return f"{'not reached' if done else 'not yet'} ({shown} at step {view.step:,})"


def speedup_sentence(snaps: list, net: str, target: float, method: str) -> str:
    """What whitening did for one net, in numbers from the two runs (unwhitened first)."""
    plain_view, white_view = snaps[0].nets[net], snaps[1].nets[net]
    label = plain_view.label
    before, after = first_reached(plain_view, target), first_reached(white_view, target)
    if after is None:
        return f"The {method} {label} net has not reached {target:.0%} yet."
    if before is None:
        return (f"**{label} net:** {method}, {target:.0%} after **{after:,} steps**; not "
                f"whitened, not reached in {plain_view.step:,} steps.")
    if before > after:
        return (f"**{label} net:** whitening reached {target:.0%} **{before / after:.1f} times "
                f"sooner** ({after:,} instead of {before:,} steps).")
    return (f"**{label} net:** here whitening did not speed it up ({after:,} vs {before:,} "
            "steps); try a larger distance from the origin.")


def whitening_look_for(snaps: list, target: float) -> str:
    """The "Look for" text beside the steps-to-target chart, from the runs on screen
    (unwhitened run first): who got there, and whether BN coped better unwhitened."""
    text = "**Look for** the diamonds, where each net first reached the target. "
    if len(snaps) < 2:
        return text + "Choose a whitening method to compare it with none."
    plain0, bn0 = snaps[0].nets.get("plain"), snaps[0].nets.get("bn")
    plain1 = snaps[1].nets.get("plain")
    if plain0 is None or plain1 is None:
        return text
    before, after = first_reached(plain0, target), first_reached(plain1, target)
    if after is not None and (before is None or after < before):
        text += ("Here the whitened plain net got there first: without whitening, its first "
                 "steps go into dragging the boundaries out to the data. ")
    elif after is None and before is None:
        text += "Neither plain net has got there yet. "
    else:
        text += "Here whitening did not get the plain net there sooner. "
    if bn0 is not None:
        bn_before = first_reached(bn0, target)
        if bn_before is not None and (before is None or bn_before < before):
            text += (f"Unwhitened, the BN net got there sooner than the plain net (step "
                     f"{bn_before:,} vs " + (f"{before:,}" if before is not None else "not yet")
                     + "): BN subtracts each unit's batch mean, a per-unit centring done inside "
                       "the net.")
        elif bn_before is not None or before is not None:
            text += "Unwhitened, the BN net did not get there sooner than the plain net here."
    return text
