"""The short texts beside each step of the "Inside the BN layer" lesson, written from what the
step computed (bn_core.lessons.inside_bn): what to look for, then one thing to try. Each is
conditional on the numbers on screen (a batch of one, a variance near eps, a gradient check that
fails, running averages that have not converged). Pure functions; no UI."""
from __future__ import annotations

import numpy as np

from bn_core.i18n import _
from bn_core.lessons.inside_bn import (
    GRADCHECK_TOLERANCE,
    BackwardCheck,
    BatchNoise,
    ChannelCheck,
    RunningStatistics,
    gradient_check_verdict,
    worst_error,
)

UNIT_STD = 0.01        # xhat's std within this of 1 counts as "1, less a hair for eps"
UNDONE = 1e-3          # y within this of x (relative to x's size): BN undone, to ~3 digits
ROUNDED_ZERO = 1e-9    # |sum dx * xhat| below this share of sum |dx * xhat|: 0 up to rounding
NEARLY_ZERO = 1e-3     # ... below this share: small, but not 0 (eps is not 0)
CONVERGED = 0.1        # eval-mode xhat of x0 within this of its true z-score 1
ROUNDING = 1e-10       # two routes to the same statistics agree up to rounding below this
PLUS_MINUS_ONE = 0.01  # with m = 2 and a small eps, xhat is +-1: its 5-95% range spans 2


def numbers(values, digits: int = 4) -> str:
    """Values as a short comma-separated list: 1.5, -0.25, 3."""
    return ", ".join(f"{v:.{digits}g}" for v in np.atleast_1d(np.asarray(values, np.float64)))


def value(v: float, digits: int = 4) -> str:
    """A number as the page prints it; one that is 0 up to float64 rounding prints as 0."""
    return "0" if abs(v) < 1e-12 else f"{v:.{digits}g}"


def forward_look_for(cache, y, feature: int, names: list[str]) -> str:
    """Beside Algorithm 1's chart: what normalising, then scaling and shifting, did here."""
    name, m = names[feature], cache.x.shape[0]
    if m == 1:
        return _("**N = 1: BN breaks.** With one example mu = x and var = 0, so xhat = "
                 "0 / sqrt(eps) = 0 whatever x is, and y = beta ({beta}): the layer erases its "
                 "input. Set N to 2 or more.").format(beta=numbers(cache.beta))
    stds = cache.xhat.std(axis=0)
    slots = dict(spread=stds[feature], spreads=numbers(stds, 3), name=name,
                 gamma=abs(cache.gamma[feature]), beta=cache.beta[feature],
                 std=value(y[:, feature].std()), mean=value(y[:, feature].mean()))
    if np.all(np.abs(stds - 1.0) < UNIT_STD):
        text = _("**Look for:** panel 2 puts every feature at mean 0, spread {spread:.3f} (1 less "
                 "a hair for eps), whatever its scale; panel 3 gives {name} spread |gamma| = "
                 "{gamma:g} and centre beta = {beta:g} (y: std {std}, mean {mean}).")
    else:
        text = _("**Look for:** panel 2 centres every feature at 0, with spreads {spreads} (a "
                 "variance not much larger than eps keeps the spread below 1); panel 3 gives "
                 "{name} spread |gamma| = {gamma:g} and centre beta = {beta:g} (y: std {std}, "
                 "mean {mean}).")
    return text.format(**slots) + "\n\n" + _(
        "**Try:** make one value of x1 huge (1000): all of x1's xhat move, because mu and var "
        "belong to the whole batch.")


def arithmetic_look_for(cache, y, feature: int, names: list[str]) -> str:
    """Under the tables of mu, var, xhat and y: how to undo BN for one feature, or, when gamma
    and beta already undo it, that they do (y equals x, measured)."""
    name, m, j = names[feature], cache.x.shape[0], feature
    scale = max(float(np.ptp(cache.x[:, j])), float(np.max(np.abs(cache.x[:, j]))), 1e-12)
    gap = float(np.max(np.abs(y[:, j] - cache.x[:, j])))
    if m > 1 and gap <= UNDONE * scale:
        return _("Here {name}'s gamma = sqrt(var + eps) and beta = mu, so y equals x (largest "
                 "difference {gap:.1e}): **BN undone**. gamma and beta can give the net its "
                 "inputs back.").format(name=name, gap=gap)
    return _("**Try:** for {name}, gamma = {std:.6g} (its sqrt(var + eps)) and beta = {mu:.6g} "
             "(its mu): y equals x again, BN undone.").format(name=name, std=cache.std[j],
                                                              mu=cache.mu[j])


def backward_look_for(check: BackwardCheck, eps: float) -> tuple[str, str]:
    """Beside the gradient check: (its verdict, the two sums BN's gradient makes zero, the
    second only when eps = 0: how far from 0 it is, measured relative to its terms)."""
    rows = check.nodes + check.params
    worst = max(rows, key=lambda r: r.rel_error)
    if worst.agrees:
        verdict = _("**Measured:** the largest error is {error:.1e} (at d{node}), below "
                    "{tolerance:g}: backprop and centred differences agree at every "
                    "node.").format(error=worst_error(check), node=worst.name,
                                    tolerance=GRADCHECK_TOLERANCE)
    else:
        verdict = _("**Measured:** {verdict}").format(verdict=gradient_check_verdict(check))
    xhat = next(n.value for n in check.nodes if n.name == "xhat")
    terms = np.maximum(np.sum(np.abs(check.dx * xhat), axis=0), 1e-300)
    share = float(np.max(np.abs(check.dx_dot_xhat) / terms))
    sums = numbers(check.dx_dot_xhat, 2)
    if share < ROUNDED_ZERO:
        dot = _("sum_i dL/dx_i xhat_i = [{sums}]: 0 up to rounding (eps is tiny next to the "
                "variance).").format(sums=sums)
    elif share < NEARLY_ZERO:
        dot = _("sum_i dL/dx_i xhat_i = [{sums}]: almost 0: exactly 0 only when eps = 0 (here "
                "{eps:g}).").format(sums=sums, eps=eps)
    else:
        dot = _("sum_i dL/dx_i xhat_i = [{sums}]: clearly not 0: eps = {eps:g} is not small "
                "next to the variance.").format(sums=sums, eps=eps)
    sum_share = float(np.max(np.abs(check.dx_sum)
                             / np.maximum(np.sum(np.abs(check.dx), axis=0), 1e-300)))
    total = (_("sum_i dL/dx_i = [{sums}]: 0 up to rounding: shifting the whole batch changes "
               "nothing after BN.") if sum_share < ROUNDED_ZERO else
             _("sum_i dL/dx_i = [{sums}]: not 0, which BN's gradient should be: look at every "
               "node (step 5).")).format(sums=numbers(check.dx_sum, 2))
    return verdict, (total + "\n\n" + dot + "\n\n"
                     + _("**Try:** eps = 1, then 1e-08 (sidebar)."))


def running_look_for(rs: RunningStatistics) -> str:
    """Beside the running statistics: where they ended, and the m/(m-1) correction measured."""
    m, T = rs.m, len(rs.batch_mean)
    return _("After {T} batches of m = {m}: running mean **{mean:.3f}** (true {true_mean:g}), "
             "running variance **{var:.3f}** (true {true_var:g}).\n\n"
             "Batch variances divide by m, so on average they are (m-1)/m = {ratio:.3f} of the "
             "truth: here **{batch_var:.3f}** (dotted; expected {expected:.3f}). Times m/(m-1): "
             "**{population_var:.3f}** (dashed), what Algorithm 2 keeps.\n\n"
             "**Try:** m = 2, m = 128, momentum 0.01 or 1.").format(
                 T=T, m=m, mean=rs.running_mean[-1], true_mean=rs.true_mean,
                 var=rs.running_var[-1], true_var=rs.true_var, ratio=(m - 1) / m,
                 batch_var=rs.average_batch_var[-1], expected=(m - 1) / m * rs.true_var,
                 population_var=rs.population_var[-1])


def modes_look_for(rs: RunningStatistics) -> str:
    """Beside one input in both modes: its spread in training mode, its one value in eval mode."""
    lo, hi = np.percentile(rs.train_xhat, [5, 95])
    close = abs(rs.eval_xhat - 1.0) < CONVERGED
    slots = dict(x0=rs.probe_value, lo=lo, hi=hi, batches=len(rs.train_xhat), xhat=rs.eval_xhat,
                 momentum=rs.momentum, remembered=1 / rs.momentum)
    if close:
        text = _("x0 = {x0:g} is one standard deviation above the mean. In training mode its "
                 "xhat depends on the batch it is in: **{lo:.2f} to {hi:.2f}** (5th to 95th "
                 "percentile of {batches} batches). In eval mode it is always **{xhat:.3f}**, "
                 "close to the true 1. A trained net predicts in eval mode: an answer must not "
                 "depend on the rest of its batch.")
    else:
        text = _("x0 = {x0:g} is one standard deviation above the mean. In training mode its "
                 "xhat depends on the batch it is in: **{lo:.2f} to {hi:.2f}** (5th to 95th "
                 "percentile of {batches} batches). In eval mode it is always **{xhat:.3f}**; "
                 "the true value is 1: with momentum {momentum:g} the running averages remember "
                 "only the last ~{remembered:.0f} batches, so they are noisy too. A trained net "
                 "predicts in eval mode: an answer must not depend on the rest of its batch.")
    return text.format(**slots) + "\n\n" + _("**Try:** m = 2, momentum 0.01.")


def batch_size_look_for(noise: BatchNoise) -> str:
    """Beside the batch-size study: how wide x0's normalised value scatters at each m."""
    sizes = list(int(s) for s in noise.sizes)

    def spread(m: int) -> float:
        i = sizes.index(m)
        return float(noise.xhat_pct[i, 2] - noise.xhat_pct[i, 0])

    two = spread(2) if 2 in sizes else float("nan")
    plus_minus = abs(two - 2.0) < PLUS_MINUS_ONE
    shown = [m for m in (4, 32, 128) if m in sizes]
    others = "".join(_(", {spread:.2f} at m = {m}").format(spread=spread(m), m=m) for m in shown)
    head = (_("The 5-95% range of x0's xhat (right) spans **{two:.2f}** standard deviations at "
              "m = 2 (xhat is always +1 or -1 there){others}.") if plus_minus else
            _("The 5-95% range of x0's xhat (right) spans **{two:.2f}** standard deviations at "
              "m = 2{others}.")).format(two=two, others=others)
    return (head + " " + _("At **m = 1** the variance is 0 and xhat 0: the layer outputs beta "
                           "whatever the input (torch refuses it in training mode).") + "\n\n"
            + _("In large nets that noise costs accuracy: ResNet-50's ImageNet error rose from "
                "23.6% at 32 images per GPU to 34.7% at 2 (Wu & He 2018).") + "\n\n"
            + _("**Try:** another population mean or std: the xhat ranges stay put."))


def conv_look_for(cc: ChannelCheck, shape: tuple, channel: int) -> str:
    """Beside the (N, C, H, W) tensor: one channel's statistics, checked against the reshape."""
    n, c, h, w = shape
    k = channel
    slots = dict(values=cc.values_per_channel, channel=k + 1, mean=cc.mean[k], var=cc.var[k],
                 y_mean=value(cc.y_mean[k]), y_std=cc.y_std[k], c=c, diff=cc.max_abs_diff,
                 naive=cc.naive_max_abs_diff)
    text = _("One gamma and one beta per channel, statistics over all N x H x W = **{values}** "
             "values of the channel (outlined). Channel {channel}: mean **{mean:.4f}**, variance "
             "**{var:.4f}**; after BN, mean {y_mean} and std {y_std:.4f}.").format(**slots)
    check = (_("**Checked** against ordinary BN on x reshaped to `(N*H*W, C)` = ({values}, {c}): "
               "largest difference {diff:.1e}, equal up to rounding.")
             if cc.max_abs_diff < ROUNDING else
             _("**Checked** against ordinary BN on x reshaped to `(N*H*W, C)` = ({values}, {c}): "
               "largest difference {diff:.1e}, **not equal**: the two routes disagree.")
             ).format(**slots)
    return (text + "\n\n" + check + " "
            + _("`x.reshape(-1, C)` without moving C last mixes channels: off by up to "
                "{naive:.2f}.").format(**slots)
            + "\n\n" + _("**Try:** C = 1, or H = W = 8."))


def gradient_rows(check: BackwardCheck, feature: int, digits: int = 3) -> list[dict]:
    """The table of every node for one feature: its backward rule, dL/d(node) from backprop and
    from centred differences (per example, or one number for a per-feature node), and the
    relative error over all features. Short numbers, so the table fits a lesson's width."""
    def column(a):
        a = np.asarray(a)
        return numbers(a[:, feature] if a.ndim == 2 else a[feature:feature + 1], digits)

    return [{"node": r.name, "backward rule": r.grad_formula, "backprop": column(r.grad),
             "centred differences": column(r.numeric), "relative error": r.rel_error}
            for r in check.nodes + check.params]
