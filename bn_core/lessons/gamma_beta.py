"""gamma and beta (T7): the sentences the lesson prints, as pure functions of a run's snapshot.

What the demo shows by default (docs/claims.md, T7): on the two moons with gamma frozen at 0.5
and beta at 0, every sigmoid input of the BN net sits in the near-linear zone, and the BN net
does about as well as the best straight-line boundary, while the plain net separates the moons. The moons are
each other's mirror image through their centre with the classes swapped, so a net whose units
all switch at the batch mean can still separate them: what fails is the nonlinearity.

On data that is symmetric about its centre with *the same* class on both sides (circles, XOR),
beta = 0 fails for another reason, a symmetry: with every unit centred at its batch mean, the
net computes an odd function plus a constant, f(-x) = c - f(x), and cannot give x and -x the
same class. `symmetry_note` says so when that setting is chosen.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from bn_core.figures.activations import first_disagreement, latest_value, output_range
from bn_core.i18n import N_, _

METRIC = "heldout_acc"
UNDO_TOLERANCE = 0.05          # an accuracy gap this small counts as "the curves agree"
CLEARLY_BELOW = 0.03           # a BN net this far below the plain net "does worse"
# Data sets symmetric about their centre whose classes are symmetric too: class(-x) = class(x).
EVEN_DATASETS = ("circles", "xor")
MODE_WORDS = {  # whole sentences, so each is translated as one
    "learnable": N_("gamma and beta are **learnable**: the net learns one gamma and one beta "
                    "per unit."),
    "frozen": N_("gamma and beta are **frozen** at the sliders' values: every unit gets gamma "
                 "= {g:g}, beta = {b:g}."),
    "undo": N_("gamma and beta are **set to undo the normalisation**: gamma = sqrt(var_B + "
               "eps), beta = mu_B of each batch, so every BN layer outputs exactly its input."),
}


def linear_boundary_accuracy(config) -> float:
    """Held-out accuracy of the best straight-line boundary on the config's 2-D data: logistic
    regression fitted to convergence on the training points. What a net that has lost its
    nonlinearity can at most reach (nan for other data). Depends on the data only, so moving
    gamma or beta does not refit it."""
    from bn_core.engine.run_data import data_key

    if not config.is_toy:
        return math.nan
    return _linear_fit(data_key(config))


@functools.lru_cache(maxsize=32)
def _linear_fit(key: tuple) -> float:
    from bn_core.engine.run_data import _cached_dataset

    data = _cached_dataset(key)
    w = fit_softmax(data.model_input(data.x_train), np.asarray(data.y_train), data.n_classes)
    xh = _with_bias(data.model_input(data.x_heldout))
    return float(np.mean((xh @ w).argmax(1) == np.asarray(data.y_heldout)))


def _with_bias(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.hstack([x, np.ones((len(x), 1))])


def fit_softmax(x, y, n_classes: int, ridge: float = 1e-6, iterations: int = 100) -> np.ndarray:
    """Multinomial logistic regression by Newton's method with a backtracking line search
    (float64, numpy): weights of shape (features + 1, classes), the bias in the last row. A
    ridge this small changes no prediction; it keeps the optimum finite on separable data."""
    x = _with_bias(x)
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    w = np.zeros((d, n_classes))

    def loss_of(w):
        z = x @ w
        z -= z.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(1)) - (z * onehot).sum(1))
                     + 0.5 * ridge * (w * w).sum())

    loss = loss_of(w)
    for _ in range(iterations):
        z = x @ w
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = (x.T @ (p - onehot) / n + ridge * w).ravel(order="F")  # class-major
        if np.abs(grad).max() < 1e-10:
            break
        hess = ridge * np.eye(d * n_classes)
        for a in range(n_classes):
            for b in range(n_classes):
                weight = p[:, a] * ((a == b) - p[:, b]) / n
                hess[a * d:(a + 1) * d, b * d:(b + 1) * d] += (x * weight[:, None]).T @ x
        step = np.linalg.solve(hess, grad).reshape((d, n_classes), order="F")
        t = 1.0
        while t > 1e-8:
            trial = loss_of(w - t * step)
            if trial <= loss - 1e-4 * t * float(grad @ step.ravel(order="F")):
                break
            t /= 2
        if t <= 1e-8 or loss - trial < 1e-12:  # no step lowers the loss any more
            break
        w, loss = w - t * step, trial
    return w


def pct(x: float) -> str:
    return _("n/a") if x is None or math.isnan(x) else f"{x:.0%}"


def mode_sentence(config) -> str:
    return _(MODE_WORDS[config.affine]).format(g=config.gamma_value, b=config.beta_value)


def layer_now(snap, layer: int) -> str:
    """Each net's zone shares for the layer shown, from the latest probe."""
    act, rows = snap.config.activation, []
    for v in snap.nets.values():
        if act in ("sigmoid", "tanh"):
            hist = v.latest.get("hist")
            lo, hi = (output_range(hist[layer], snap.edges, act) if hist is not None
                      else (math.nan, math.nan))
            rows.append(_("- **{net}**: {linear} near-linear, {saturated} saturated; 95% of "
                          "outputs in [{lo:.2f}, {hi:.2f}]").format(
                              net=_(v.label), linear=pct(latest_value(v, 'linear_zone', layer)),
                              saturated=pct(latest_value(v, 'saturated', layer)), lo=lo, hi=hi))
        elif act == "relu":
            rows.append(_("- **{net}**: {zero} of outputs are 0, {dead} of units dead").format(
                net=_(v.label), zero=pct(latest_value(v, 'zero_outputs', layer)),
                dead=pct(latest_value(v, 'dead_units', layer))))
        else:
            rows.append(_("- **{net}**: a linear activation has no zones").format(
                net=_(v.label)))
    # the step of the probe these shares are from (the chart's title says the same), not the
    # run's step counter, which is up to a probe interval ahead
    probed = [v.latest.get("step") for v in snap.nets.values() if v.latest.get("step") is not None]
    return _("**Layer {layer} now** (step {step:,}):").format(
        layer=layer + 1, step=probed[0] if probed else snap.step) + "\n" + "\n".join(rows)


def curve_hint(config) -> str:
    if config.affine == "undo":
        return _("BN hands back its input unchanged, so both panels show the same kind of "
                 "distribution: the plain net's.")
    if config.activation == "relu":
        if config.affine == "frozen":
            return _("Grey: the ReLU outputs 0 there. With beta frozen at {beta:g}, BN centres "
                     "each unit's batch at beta, so with beta = 0 about half of its outputs are "
                     "0. **Try** beta +1 or -1, then learnable.").format(beta=config.beta_value)
        return _("Grey: the ReLU outputs 0 there. A learnable beta lets each unit choose its "
                 "own threshold. **Try** frozen with beta 0 and watch the BN net's share of "
                 "zero outputs settle near one half.")
    if config.activation not in ("sigmoid", "tanh"):
        return _("A linear activation has no zones: choose sigmoid, tanh or ReLU.")
    if config.affine == "frozen":
        return _("Green band: near-linear zone; red: saturated. With gamma = {gamma:g} and beta "
                 "= {beta:g} frozen, each BN unit's input has mean {beta:g} and spread "
                 "{gamma:g} over every batch, whatever the weights do. **Try** gamma 1 "
                 "(normalising alone), gamma 4 (pushed into saturation), then learnable.").format(
                     gamma=config.gamma_value, beta=config.beta_value)
    return _("Green band: near-linear zone; red: saturated. With learnable gamma and beta the "
             "BN net may widen (gamma > 1) and shift (beta) its inputs out of the middle. "
             "**Try** frozen at gamma 0.5, beta 0 and compare the near-linear shares.")


def zones_hint(config) -> str:
    if config.affine == "undo":
        return _("In undo mode the two nets' lines lie on top of each other: the BN net "
                 "computes exactly what the plain net computes (see the accuracy note below).")
    if config.activation == "relu":
        return _("Solid: share of outputs that are 0; dotted: units that are 0 for every probe "
                 "example (dead). In the BN net a unit can only die if beta pushes its whole "
                 "batch below 0.")
    if config.activation in ("sigmoid", "tanh"):
        return _("Compare the two nets' near-linear shares: the plain net's move as its "
                 "weights grow; the BN net's move only as far as gamma and beta let them.")
    return ""


def symmetry_note(config) -> str | None:
    """On circles or XOR with beta frozen at 0: why the BN net fails there (a symmetry of the
    data, not the loss of nonlinearity), or None for other settings."""
    if not (config.affine == "frozen" and config.beta_value == 0
            and config.dataset in EVEN_DATASETS and config.activation in ("sigmoid", "tanh")):
        return None
    return _("**A symmetry, not the nonlinearity:** these points are symmetric about their "
             "centre, and a point and its mirror image -x have the same class. With beta frozen "
             "at 0 every BN unit switches at its batch mean (the data's centre), and the "
             "{activation} is symmetric about its midpoint, so each layer maps -x to the mirror "
             "image of what it maps x to: the whole net computes an odd function plus a "
             "constant, f(-x) = c - f(x), and cannot give x and -x the same class however "
             "nonlinear its units are. The plain net's biases break the symmetry. **Try** beta "
             "0.5, or the moons (mirror images there have opposite classes).").format(
                 activation=config.activation)


def accuracy_text(snap) -> str:
    """Each net's held-out accuracy, and what it says about gamma and beta in this run."""
    cfg = snap.config
    views = {n: v for n, v in snap.nets.items() if len(v.evals.get(METRIC, ()))}
    rows = [_("- **{net}**: {acc:.0%} at step {step:,} ({status})").format(
                net=_(v.label), acc=v.evals[METRIC][-1], step=int(v.evals['step'][-1]),
                status=_status(v)) for v in views.values()]
    text = _("**Held-out accuracy**") + "\n" + "\n".join(rows) + "\n\n"
    if cfg.affine == "undo":
        return text + undo_text(snap)
    note = symmetry_note(cfg)
    if note:
        return text + note
    if cfg.activation == "relu":
        return text + _("For ReLU, gamma matters little: scaling a ReLU's input scales its "
                        "output. **Try** the sigmoid to see gamma and beta matter.")
    if "plain" in views and "bn" in views and cfg.affine == "frozen" \
            and cfg.activation in ("sigmoid", "tanh"):
        plain = float(views["plain"].evals[METRIC][-1])
        bn = float(views["bn"].evals[METRIC][-1])
        share = latest_value(views["bn"], "linear_zone", cfg.depth - 1)
        if bn <= plain - CLEARLY_BELOW:
            values = dict(gamma=cfg.gamma_value, beta=cfg.beta_value, gap=plain - bn,
                          share=pct(share))
            line = linear_boundary_accuracy(cfg)
            if math.isfinite(line):
                return text + _(
                    "Here the BN net, with gamma frozen at {gamma:g} and beta at {beta:g}, is "
                    "{gap:.0%} below the plain net, with {share} of its top layer's inputs in the "
                    "near-linear zone: a sigmoid there is almost a straight line, and layers of "
                    "straight lines add up to one linear boundary: the best straight line on "
                    "these points reaches {line}. **Try** learnable: gamma and beta give the "
                    "nonlinearity back.").format(line=pct(line), **values)
            return text + _(
                "Here the BN net, with gamma frozen at {gamma:g} and beta at {beta:g}, is "
                "{gap:.0%} below the plain net, with {share} of its top layer's inputs in the "
                "near-linear zone: a sigmoid there is almost a straight line, and layers of "
                "straight lines add up to one linear boundary. **Try** learnable: gamma and "
                "beta give the nonlinearity back.").format(**values)
        return text + _("Here the BN net is not clearly below the plain net ({bn} vs {plain}; "
                        "{share} of its top layer's inputs near-linear). **Try** a smaller "
                        "gamma, or learnable to compare.").format(
                            bn=pct(bn), plain=pct(plain), share=pct(share))
    return text + _("**Try** the other modes and compare the BN net's curve with this one.")


# A net's statuses (bn_core/engine/records.py), marked for translation.
NET_STATUSES = (N_("training"), N_("finished"), N_("stopped"), N_("failed"))


def _status(view) -> str:
    """A net's status in words ("training", "diverged at step N", ...), translated."""
    if view.status == "diverged":
        return _("diverged at step {step}").format(step=view.diverged_at)
    return _(view.status)


def undo_text(snap) -> str:
    plain, bn = snap.nets.get("plain"), snap.nets.get("bn")
    text = _("Undoing the normalisation gives the BN net back the plain net's input to every "
             "nonlinearity: y = sqrt(var_B + eps) * xhat + mu_B = x, and the gradient passes "
             "through unchanged, so the BN net trains exactly as the plain one.") + " "
    if plain is None or bn is None or not len(bn.evals.get(METRIC, ())):
        return text
    apart = first_disagreement(bn.evals["step"], plain.evals[METRIC], bn.evals[METRIC],
                               UNDO_TOLERANCE)
    if apart is None:
        return text + _("Here the two accuracy curves agree within {tolerance:.0%} at every "
                        "evaluation so far.").format(tolerance=UNDO_TOLERANCE)
    return text + _("Here they agree until step {step:,} and then part by more than "
                    "{tolerance:.0%}: floating-point rounding in the normalise-and-undo "
                    "arithmetic grows over many steps of training.").format(
                        step=apart, tolerance=UNDO_TOLERANCE)


def affine_text(snap, layer: int) -> str:
    pr = snap.nets["bn"].probes
    if snap.config.affine == "undo":
        return _("Undo mode: each BN layer multiplies back by sqrt(var_B + eps) and adds mu_B "
                 "of the current batch. Left, these for the probed unit over training; right, "
                 "every unit of the layer now. They follow the net's own drifting statistics.")
    if len(pr.get("step", ())) == 0 or "gamma_mean_abs" not in pr:
        return _("No BN statistics recorded yet.")
    g, b = float(pr["gamma_mean_abs"][-1, layer]), float(pr["beta_mean"][-1, layer])
    if snap.config.affine == "frozen":
        return _("Frozen: the lines stay flat at gamma = {gamma:.2f}, beta = {beta:.2f}, and "
                 "every unit is the same dot on the right.").format(gamma=g, beta=b)
    return _("Learnt so far in layer {layer}: mean |gamma| = {gamma:.2f}, mean beta = "
             "{beta:.2f}. A gamma above 1 spreads the input beyond the linear zone; each unit's "
             "beta sets where it switches. Right: every unit's own pair.").format(
                 layer=layer + 1, gamma=g, beta=b)


def zones_reading(snap, layer: int) -> str:
    """Each net's share of the layer's inputs in the activation's main zone (near-linear, or
    output 0 for a ReLU), first probe -> now, and how the two nets compare, from the run."""
    from bn_core.figures.activations import zone_names

    zones = zone_names(snap.config.activation)
    if not zones:
        return ""
    series, words = next(iter(zones.items()))
    shares = {}
    for name, view in snap.nets.items():
        col = view.probes.get(series)
        if col is None or len(col) == 0 or layer >= col.shape[1]:
            continue
        shares[name] = col[:, layer]
    if not shares:
        return ""
    words = _(words)
    rows = [_("- **{net}**: {start} → {now} {zone}").format(
                net=_(snap.nets[n].label), start=pct(float(s[0])), now=pct(float(s[-1])),
                zone=words)
            for n, s in shares.items()]
    text = _("**Layer {layer}, share {zone}**").format(layer=layer + 1, zone=words) \
        + "\n" + "\n".join(rows)
    if {"plain", "bn"} <= set(shares):
        n = min(len(shares["plain"]), len(shares["bn"]))
        gap = float(max(abs(a - b) for a, b in zip(shares["plain"][:n], shares["bn"][:n])))
        if snap.config.affine == "undo":
            text += "\n\n" + (
                _("Undo mode: the two nets' lines lie on top of each other (at most {gap:.1%} "
                  "apart).").format(gap=gap) if gap < 0.02 else
                _("Undo mode: the two nets' lines part by up to {gap:.0%}: see the accuracy "
                  "note.").format(gap=gap))
        elif snap.config.affine == "frozen" and series == "linear_zone":
            bn = shares["bn"]
            text += "\n\n" + _("The BN net's share is held by gamma and beta, not by its "
                                 "weights: it stayed between {lo} and {hi}.").format(
                                     lo=pct(float(bn.min())), hi=pct(float(bn.max())))
    return text
