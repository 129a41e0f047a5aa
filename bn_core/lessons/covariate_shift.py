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
import threading
from dataclasses import dataclass

import numpy as np

from bn_core.config import RunConfig
from bn_core.i18n import N_, _
from bn_core.data.datasets import Dataset, Whitener, shift_points
from bn_core.nets.models import initial_weights

SHIFT_FRACTIONS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))  # 0 %, 10 %, ..., 100 % of the shift
CUT_MARGIN = 0.05  # a unit "cuts through" the data if each side holds more than 5 % of it
WHITENING_NAMES = {"none": N_("not whitened"), "standardize": N_("standardized"),
                   "pca": N_("PCA-whitened"), "zca": N_("ZCA-whitened")}


def whitening_name(method: str) -> str:
    """A whitening method as the page says it ("ZCA-whitened", "not whitened"), translated."""
    return _(WHITENING_NAMES.get(method, method))


def and_list(items) -> str:
    """Names joined as a reader says them: "a", "a and b", "a, b and c" (in the current
    language: the joiners are messages of their own, each item a whole phrase)."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return _("{first} and {last}").format(first=_(", ").join(items[:-1]), last=items[-1])


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
NO_SHIFT = (0.0, 0.0, 0.0, 1.0)
_REPLAY_LOCK = threading.Lock()  # one replay net per kind and config, shared by every session


def training_config(config: RunConfig) -> RunConfig:
    """The config a run trains: the test-only settings at their defaults, so that moving them
    never retrains (the page re-scores the recorded nets instead)."""
    return config.replace(**dict(zip(TEST_ONLY, NO_SHIFT)))


def test_shift(config: RunConfig) -> tuple[float, float, float, float]:
    """The config's test-only settings: (shift x, shift y, rotation in degrees, scale)."""
    return tuple(float(getattr(config, name)) for name in TEST_ONLY)


@functools.lru_cache(maxsize=32)
def _replay_net(net: str, config: RunConfig):
    """A net of the run's shape, in eval mode, to load recorded parameters into, with its
    floating-point state tensors in the order of `flat_parameters` (used under _REPLAY_LOCK)."""
    from bn_core.engine.run_data import load_data
    from bn_core.nets.models import build_net

    data = load_data(config)
    dim = data.x_train.shape[1]
    model = build_net(net, config, dim, data.n_classes,
                      initial_weights(config, dim, data.n_classes))
    model.eval()
    tensors = [t for t in model.state_dict().values() if t.dtype.is_floating_point]
    return model, tensors


@functools.lru_cache(maxsize=64)
def _test_inputs(shifted: RunConfig):
    """What the nets see of the shifted test set (x, y) and of the decision grid over the
    shifted data's viewport (None without a grid)."""
    import torch

    from bn_core.engine.run_data import load_data

    data = load_data(shifted)
    x = torch.from_numpy(data.model_input(data.x_test[:shifted.heldout_size]))
    y = torch.from_numpy(np.asarray(data.y_test[:shifted.heldout_size], np.int64))
    grid = None
    if shifted.grid_resolution > 0:
        _, _, points = data.grid_points(shifted.grid_resolution)
        grid = torch.from_numpy(data.model_input(points))
    return x, y, grid


def _replay(net: str, trained: RunConfig, params_bytes: bytes):
    """The replay net of this kind with the recorded flat parameters loaded (under
    _REPLAY_LOCK)."""
    import torch

    model, tensors = _replay_net(net, trained)
    flat = torch.from_numpy(np.frombuffer(params_bytes, np.float32).copy())
    if flat.numel() != sum(t.numel() for t in tensors):
        raise ValueError(f"recorded parameters: got {flat.numel()} values for the {net} net")
    with torch.no_grad():
        offset = 0
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view(t.shape))
            offset += t.numel()
    return model


@functools.lru_cache(maxsize=4096)
def _test_score(run_key: str, net: str, step: int, params_bytes: bytes, trained: RunConfig,
                shifted: RunConfig) -> tuple[float, float]:
    """(accuracy, loss) of one recorded net on one shifted test set (cached: a recorded
    step's score never changes)."""
    from bn_core.nets import probes

    import torch

    x, y, _ = _test_inputs(shifted)
    with _REPLAY_LOCK, torch.no_grad():
        logits = _replay(net, trained, params_bytes)(x)
    return probes.accuracy(logits, y), float(probes.loss_of(logits, y, False))


@functools.lru_cache(maxsize=512)
def _grid(run_key: str, net: str, step: int, params_bytes: bytes, trained: RunConfig,
          shifted: RunConfig) -> np.ndarray:
    """One recorded net's decision grid (class, confidence) over the shifted data's viewport,
    as `probes.decision_grid` draws it."""
    from bn_core.nets import probes

    _, _, points = _test_inputs(shifted)
    with _REPLAY_LOCK:
        return probes.decision_grid(_replay(net, trained, params_bytes), points,
                                    trained.grid_resolution)


def rescore(snap, shift_x: float, shift_y: float, rotate_deg: float, scale: float):
    """The snapshot of a run trained without a test shift, as if its test data had been
    shifted: the config and data carry the shift; each net's test accuracy and loss are
    computed from its parameters recorded at each probe step (then read at the eval steps),
    and its decision regions are redrawn, from the last recorded parameters, over a viewport
    that holds the moved test points. Nothing retrains, so a student moving the shift sliders
    sees the result at once.

    Re-score the snapshot as shown (after the time scrubber): the result keeps no recorded
    parameters, so it is not scrubbed or re-scored again. Its key names the shift too (caches
    of figures built from it tell re-scorings apart). A net with no recorded parameters gets
    no test accuracy (NaN), never the unshifted one."""
    from dataclasses import replace

    from bn_core.engine.run_data import load_data

    test_key = (float(shift_x), float(shift_y), float(rotate_deg), float(scale))
    shifted = snap.config.replace(**dict(zip(TEST_ONLY, test_key)))
    if test_key == test_shift(snap.config):
        return snap
    key = f"{snap.key}|test:{','.join(f'{v:g}' for v in test_key)}"
    if not snap.nets:
        return replace(snap, key=key, config=shifted)
    data = load_data(shifted)
    replayable = all(len(v.checkpoints.get("step", ())) for v in snap.nets.values())
    regrid = replayable and snap.viewport is not None and snap.config.grid_resolution > 0
    nets = {}
    for name, view in snap.nets.items():
        evals = dict(view.evals)
        steps = evals.get("step", np.array([], np.int64))
        cps = view.checkpoints
        changes = {"evals": evals, "checkpoints": {}}
        if not len(cps.get("step", ())):
            for metric in ("test_acc", "test_loss"):
                evals[metric] = np.full(len(steps), np.nan, np.float32)
            nets[name] = replace(view, **changes)
            continue
        blobs = [p.tobytes() for p in cps["params"]]
        scores = np.array([_test_score(snap.key, name, int(s), b, snap.config, shifted)
                           for s, b in zip(cps["step"], blobs)], np.float64)
        for j, metric in enumerate(("test_acc", "test_loss")):
            if len(steps):
                evals[metric] = np.interp(steps, cps["step"], scores[:, j]).astype(np.float32)
        if regrid:
            last = int(cps["step"][-1])
            changes["latest"] = {**view.latest, "grid": _grid(snap.key, name, last, blobs[-1],
                                                              snap.config, shifted)}
            changes["initial_grid"] = (_grid(snap.key, name, 0, blobs[0], snap.config, shifted)
                                       if int(cps["step"][0]) == 0 else None)
        nets[name] = replace(view, **changes)
    return replace(snap, key=key, config=shifted, data=data,
                   viewport=data.viewport() if regrid else snap.viewport, nets=nets)


# ---------------------------------------------------------------------------- T1: page text

GAP = 0.10  # test accuracy this far below training accuracy: the shift cost the boundary


def _pct(value) -> str:
    return _("n/a") if value is None or not math.isfinite(value) else f"{value:.0%}"


def _last(view, metric: str) -> float:
    values = view.evals.get(metric)
    return float(values[-1]) if values is not None and len(values) else math.nan


# How the test data is moved, one whole phrase per combination (moved, rotated, scaled).
SHIFT_PHRASES = {
    (True, False, False): N_("moved by ({x:+g}, {y:+g})"),
    (False, True, False): N_("rotated {rot:+g} degrees"),
    (False, False, True): N_("scaled x{scale:g}"),
    (True, True, False): N_("moved by ({x:+g}, {y:+g}) and rotated {rot:+g} degrees"),
    (True, False, True): N_("moved by ({x:+g}, {y:+g}) and scaled x{scale:g}"),
    (False, True, True): N_("rotated {rot:+g} degrees and scaled x{scale:g}"),
    (True, True, True): N_("moved by ({x:+g}, {y:+g}), rotated {rot:+g} degrees and scaled "
                           "x{scale:g}"),
}


def shift_words(config: RunConfig) -> str:
    """How the test data is moved, in words: "moved by (+1, +0) and rotated +30 degrees"."""
    sx, sy, rot, scale = test_shift(config)
    which = ((sx, sy) != (0.0, 0.0), bool(rot), scale != 1.0)
    if not any(which):
        return _("not moved")
    return _(SHIFT_PHRASES[which]).format(x=sx, y=sy, rot=rot, scale=scale)


def accuracy_rows(snap) -> str:
    """Each net's accuracy now on its training data, on unshifted held-out points and on the
    shifted test data (Markdown)."""
    rows = [_("- **{net}**: training data **{train}**, unshifted held-out {heldout}, shifted "
              "test **{test}**").format(net=_(v.label), train=_pct(_last(v, "train_acc")),
                                        heldout=_pct(_last(v, "heldout_acc")),
                                        test=_pct(_last(v, "test_acc")))
            for v in snap.nets.values() if len(v.evals.get("step", ()))]
    return _("**Accuracy at step {step:,}**").format(step=snap.step) + "\n" + "\n".join(rows)


def shift_verdict(snap) -> str:
    """What this run shows about the shift, from its own numbers: whether the moved test
    points cost the boundary accuracy, and whether BN fared any better on them."""
    nets = {n: v for n, v in snap.nets.items() if len(v.evals.get("step", ()))}
    if not nets:
        return _("The nets have not been evaluated yet.")
    train = {n: _last(v, "train_acc") for n, v in nets.items()}
    test = {n: _last(v, "test_acc") for n, v in nets.items()}
    label = {n: _(v.label) for n, v in nets.items()}
    if test_shift(snap.config) == NO_SHIFT:
        pairs = _(", ").join(_("{net} {train} vs {test}").format(
            net=label[n], train=_pct(train[n]), test=_pct(test[n])) for n in nets)
        return _("The test data is not moved: crosses and circles come from the same "
                 "distribution, so test accuracy tracks training accuracy ({pairs}). **Try** a "
                 "shift or a rotation.").format(pairs=pairs)
    if not any(math.isfinite(t) for t in test.values()):
        return _("The shifted test accuracy cannot be computed for this run.")
    if max(train.values()) < 0.8:
        accs = _(", ").join(_("{net} {acc}").format(net=label[n], acc=_pct(train[n]))
                            for n in nets)
        return _("The nets are still learning (training accuracy {accs}): the boundary is not "
                 "settled yet.").format(accs=accs)
    cost = [n for n in nets if test[n] < train[n] - GAP]
    if cost:
        costs = [_("the {net} net {points:.0f} points").format(
            net=label[n], points=100 * (train[n] - test[n])) for n in cost]
        text = _("The shift costs {costs}: the boundary fits the *training* distribution, and "
                 "many crosses now fall on its wrong side.").format(
                     costs=and_list(costs))
    else:
        text = _("This shift costs little here (test within {gap:.0f} points of training): the "
                 "moved points still fall on the right side. **Try** a larger shift or "
                 "rotation.").format(gap=100 * GAP)
    if "plain" in nets and "bn" in nets:
        if test["bn"] <= test["plain"] + 0.05:
            text += _(" BN does not rescue it ({bn} vs plain {plain} on the moved points): it "
                      "normalises with statistics of the *training* batches.").format(
                          bn=_pct(test["bn"]), plain=_pct(test["plain"]))
        else:
            text += _(" Here the BN net's boundary happens to score better on the moved points "
                      "({bn} vs {plain}), though it never saw them either.").format(
                          bn=_pct(test["bn"]), plain=_pct(test["plain"]))
    return text


def sweep_rows(snap, fractions=SHIFT_FRACTIONS) -> str:
    """Each net's boundary now, scored on the test data moved by 0 %, half and all of the
    shift (Markdown)."""
    rows = []
    for view in snap.nets.values():
        grid = view.latest.get("grid")
        if grid is None or snap.viewport is None or snap.data is None:
            continue
        acc = shift_sweep(snap.data, snap.config, grid, snap.viewport, fractions)
        rows.append(_("- **{net}**: {none} unshifted, {half} half way, **{full}** at your full "
                      "shift").format(net=_(view.label), none=_pct(float(acc[0])),
                                      half=_pct(float(acc[len(acc) // 2])),
                                      full=_pct(float(acc[-1]))))
    return (_("**The boundary of step {step:,}, test data moved gradually**").format(
        step=snap.step) + "\n" + "\n".join(rows))


# ---------------------------------------------------------------------------- T2: page text

def cut_rows(snaps: list) -> str:
    """How many first-layer units of each run cut through its training data at the start
    (Markdown)."""
    rows = []
    for s in snaps:
        cuts = units_cutting_data(first_layer_lines(s.config, s.data.whitener, s.data.n_classes),
                                  s.data.x_train)
        rows.append(_("- **{method}**: **{cut} of {units}** first-layer units cut through the "
                      "training data").format(method=whitening_name(s.config.whitening),
                                              cut=int(cuts.sum()), units=len(cuts)))
    dist = distance_from_origin(snaps[0].data.x_train)
    return (_("**At initialisation** (data centred {dist:.1f} from the origin)").format(dist=dist)
            + "\n" + "\n".join(rows))


def now_rows(snaps: list) -> str:
    """Each net of each run: the share of training points it classifies right now (Markdown)."""
    rows = [_("- **{net}, {method}**: {acc} of training points right").format(
                net=_(s.nets[n].label), method=whitening_name(s.config.whitening),
                acc=_pct(_last(s.nets[n], "train_acc")))
            for s in snaps for n in s.nets]
    return _("**Now**") + "\n" + "\n".join(rows)


def first_reached(view, target: float) -> int | None:
    """The first evaluated step at which the net's training accuracy reached `target`."""
    return steps_to_accuracy(view.evals.get("step", []), view.evals.get("train_acc", []), target)


def reached_text(view, target: float) -> str:
    """When a net reached the target, or where it is if it has not."""
    hit = first_reached(view, target)
    if hit is not None:
        return _("**step {step:,}**").format(step=hit)
    acc = view.evals.get("train_acc")
    now = float(acc[-1]) if acc is not None and len(acc) else math.nan
    done = view.status != "training"
    shown = _pct(now)
    if done:
        return _("not reached ({acc} at step {step:,})").format(acc=shown, step=view.step)
    return _("not yet ({acc} at step {step:,})").format(acc=shown, step=view.step)


def speedup_sentence(snaps: list, net: str, target: float, method: str) -> str:
    """What whitening did for one net, in numbers from the two runs (unwhitened first)."""
    plain_view, white_view = snaps[0].nets[net], snaps[1].nets[net]
    label = _(plain_view.label)
    before, after = first_reached(plain_view, target), first_reached(white_view, target)
    if after is None:
        return _("The {method} {net} net has not reached {target:.0%} yet.").format(
            method=method, net=label, target=target)
    if before is None:
        return _("**{net} net:** {method}, {target:.0%} after **{after:,} steps**; not "
                 "whitened, not reached in {steps:,} steps.").format(
                     net=label, method=method, target=target, after=after,
                     steps=plain_view.step)
    if before > after:
        return _("**{net} net:** whitening reached {target:.0%} **{times:.1f} times sooner** "
                 "({after:,} instead of {before:,} steps).").format(
                     net=label, target=target, times=before / after, after=after, before=before)
    return _("**{net} net:** here whitening did not speed it up ({after:,} vs {before:,} "
             "steps); try a larger distance from the origin.").format(
                 net=label, after=after, before=before)


def whitening_look_for(snaps: list, target: float) -> str:
    """The "Look for" text beside the steps-to-target chart, from the runs on screen
    (unwhitened run first): who got there, and whether BN coped better unwhitened."""
    text = _("**Look for** the diamonds, where each net first reached the target.") + " "
    if len(snaps) < 2:
        return text + _("Choose a whitening method to compare it with none.")
    plain0, bn0 = snaps[0].nets.get("plain"), snaps[0].nets.get("bn")
    plain1 = snaps[1].nets.get("plain")
    if plain0 is None or plain1 is None:
        return text
    before, after = first_reached(plain0, target), first_reached(plain1, target)
    if after is not None and (before is None or after < before):
        text += _("Here the whitened plain net got there first: without whitening, its first "
                  "steps go into dragging the boundaries out to the data.") + " "
    elif after is None and before is None:
        text += _("Neither plain net has got there yet.") + " "
    else:
        text += _("Here whitening did not get the plain net there sooner.") + " "
    if bn0 is not None:
        bn_before = first_reached(bn0, target)
        if bn_before is not None and (before is None or bn_before < before):
            if before is not None:
                text += _("Unwhitened, the BN net got there sooner than the plain net (step "
                          "{bn:,} vs {plain:,}): BN subtracts each unit's batch mean, a per-unit "
                          "centring done inside the net.").format(bn=bn_before, plain=before)
            else:
                text += _("Unwhitened, the BN net got there sooner than the plain net (step "
                          "{bn:,} vs not yet): BN subtracts each unit's batch mean, a per-unit "
                          "centring done inside the net.").format(bn=bn_before)
        elif bn_before is not None or before is not None:
            text += _("Unwhitened, the BN net did not get there sooner than the plain net here.")
    return text
