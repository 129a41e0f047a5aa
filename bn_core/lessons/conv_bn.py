"""A live convolutional net (T12, live): BatchNorm2d per channel beside its plain twin on MNIST.

Convolutional BN keeps one gamma/beta pair per channel and takes its statistics over N, H and W
of each channel: an effective batch of m * H * W values. The CNN of `bn_core.nets.models`
records its conv layers reshaped to (N*H*W, C) (T12's reshape), so every probe of the MLP reads
channels as units; this module adds what only a conv net has (its per-probe records are
`probes.channel_records`): per-channel statistics over N, H, W, the feature maps of one digit, the check that BN2d is ordinary
BN on the reshape, and the sentences a page shows, all from a snapshot, a trace or a net.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.config import RunConfig
from bn_core.i18n import _
from bn_core.presets import PRESETS
from bn_core.lessons.distributions import moment_drift, value_at_step
from bn_core.nets.batchnorm import batchnorm_forward
from bn_core.nets.probes import CHANNEL_KEYS, channel_records  # noqa: F401  (re-exported)

EARLY_STEP = 300           # the sigmoid twins part by then (BN near 90 %, plain near chance)
RELU_EARLY_STEP = 100
AFFINE_TOLERANCE = 1e-3    # BN's output mean equals beta, its variance gamma^2, to this
CNN_TWINS = PRESETS["cnn-twins"].config
CNN_TWINS_RELU = PRESETS["cnn-twins-relu"].config


def values_per_channel(config: RunConfig, layer: int) -> int:
    """How many values BN averages over per channel in conv layer `layer` (0-based): the batch
    times the layer's height times its width (28x28 halved at each layer below)."""
    side = 28 // (2 ** layer)
    return config.batch_size * side * side


def feature_maps(net, image) -> list[np.ndarray]:
    """The nonlinearity's output (C, H, W) of each conv layer for one image (784,) in eval mode
    (BN with its running statistics, as the net would classify that digit)."""
    import torch

    x = torch.as_tensor(np.asarray(image, np.float32).reshape(1, -1))
    was_training = net.training
    net.eval()
    trace: list = []
    with torch.no_grad():
        net(x, trace)
    net.train(was_training)
    return [t["maps"].numpy() for t in trace]


@dataclass(frozen=True)
class ReshapeCheck:
    """Convolutional BN against ordinary BN of the (N*H*W, C) reshape, per conv layer."""

    max_abs_diff: list           # float per layer: the net's BN2d output vs NumPy BN on the reshape
    values_per_channel: list     # int per layer: N*H*W

    @property
    def agrees(self) -> bool:
        return all(d < 1e-4 for d in self.max_abs_diff)


def reshape_check(net, x) -> ReshapeCheck:
    """Run the BN net on x in training mode (without changing it) and compare each layer's BN2d
    output with the from-scratch float64 BN of `batchnorm.py` on the (N*H*W, C) reshape."""
    import torch

    from bn_core.nets.probes import restoring

    if net.norms is None:
        raise ValueError("the net has no BN layers to check")
    trace: list = []
    was_training = net.training
    net.train()  # batch statistics, as in training
    with restoring(net), torch.no_grad():
        net(torch.as_tensor(x), trace)
    net.train(was_training)
    diffs, counts = [], []
    for t, norm in zip(trace, net.norms):
        flat = t["bn_in"].double().numpy()
        y, _cache = batchnorm_forward(flat, norm.weight.detach().double().numpy(),
                                 norm.bias.detach().double().numpy(), norm.eps)
        diffs.append(float(np.max(np.abs(y - t["pre"].double().numpy()))))
        counts.append(flat.shape[0])
    return ReshapeCheck(max_abs_diff=diffs, values_per_channel=counts)


def channel_rows(view, layer: int) -> list[dict]:
    """Per channel of one conv layer of a BN net, at its latest probe: the last training
    batch's statistics over N, H, W, the running statistics, gamma and beta."""
    layers = view.latest.get("bn")
    if not layers or not 0 <= layer < len(layers):
        return []
    rec = layers[layer]
    n = len(rec["gamma"])
    return [{"channel": c,
             "batch_mean": None if rec["batch_mean"] is None else float(rec["batch_mean"][c]),
             "batch_var": None if rec["batch_var"] is None else float(rec["batch_var"][c]),
             "running_mean": float(rec["running_mean"][c]),
             "running_var": float(rec["running_var"][c]),
             "gamma": float(rec["gamma"][c]), "beta": float(rec["beta"][c])} for c in range(n)]


@dataclass(frozen=True)
class ChannelAffine:
    """The probed channel of a BN net over its probes: what BN normalised (the conv output's
    batch mean over N, H, W) moved, while what the nonlinearity saw kept mean beta and
    variance gamma^2 (as var/(var + eps))."""

    batch_mean_range: float      # max - min over probes of the conv output's batch mean
    max_mean_error: float        # max |mean of BN's output - beta| over probes
    max_var_error: float         # max |variance of BN's output / gamma^2 - 1| over probes
    probes: int

    @property
    def holds(self) -> bool:
        return self.max_mean_error < AFFINE_TOLERANCE and self.max_var_error < AFFINE_TOLERANCE


def channel_affine(view, layer: int = 0) -> ChannelAffine | None:
    """From a BN net's records: the probed channel's input statistics against its gamma, beta."""
    pr = view.probes
    if "beta" not in pr or len(pr.get("step", ())) < 2:
        return None
    beta, gamma = np.asarray(pr["beta"][:, layer], np.float64), np.asarray(pr["gamma"][:, layer],
                                                                          np.float64)
    mean, var = np.asarray(pr["unit_mean"][:, layer], np.float64), \
        np.asarray(pr["unit_var"][:, layer], np.float64)
    batch_mean = np.asarray(pr["bn_batch_mean"][:, layer], np.float64)
    batch_mean = batch_mean[np.isfinite(batch_mean)]  # none at step 0 (no training batch yet)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_err = np.abs(var / gamma ** 2 - 1.0)
    return ChannelAffine(
        batch_mean_range=float(batch_mean.max() - batch_mean.min()) if batch_mean.size else
        math.nan, max_mean_error=float(np.max(np.abs(mean - beta))),
        max_var_error=float(np.max(var_err)), probes=len(beta))


def findings(snapshot, layer: int = 0) -> list[str]:
    """The sentences the page prints, from the run: accuracy early and now, and how the probed
    channel's input moved over training in each net (mean and variance over N, H, W)."""
    nets, cfg = snapshot.nets, snapshot.config
    if "plain" not in nets or "bn" not in nets:
        return []
    out = []
    per = values_per_channel(cfg, layer)
    out.append(_("Each BN statistic of conv layer {layer} is taken over N x H x W = {per:,} "
                 "values per channel (a batch of {batch} images), one gamma and one beta per "
                 "channel: {width} of each.").format(layer=layer + 1, per=per,
                                                     batch=cfg.batch_size, width=cfg.width))
    accs = {}
    for name in ("plain", "bn"):
        ev = nets[name].evals
        if len(ev.get("step", ())):
            accs[name] = (value_at_step(ev["step"], ev["heldout_acc"], EARLY_STEP),
                          float(ev["heldout_acc"][-1]), int(ev["step"][-1]))
    if len(accs) == 2:
        (pe, pn, ps), (be, bn_, bs) = accs["plain"], accs["bn"]
        early = "" if not (math.isfinite(pe) and math.isfinite(be)) else \
            " " + _("At step {step}: BN {bn:.0%}, plain {plain:.0%}.").format(
                step=EARLY_STEP, bn=be, plain=pe)
        lead = bn_ - pn
        values = dict(step=min(ps, bs), bn=bn_, plain=pn, lead=abs(lead))
        out.append((_("Held-out accuracy at step {step:,}: BN {bn:.1%}, plain {plain:.1%} "
                      "(BN ahead by {lead:.1%}).") if lead > 0.005 else
                    _("Held-out accuracy at step {step:,}: BN {bn:.1%}, plain {plain:.1%} "
                      "(plain ahead by {lead:.1%}).") if lead < -0.005 else
                    _("Held-out accuracy at step {step:,}: BN {bn:.1%}, plain {plain:.1%} "
                      "(level).")).format(**values)
                   + early)
    drifts = {}
    for name in ("plain", "bn"):
        pr = nets[name].probes
        if "unit_mean" in pr and len(pr["unit_mean"]) >= 2:
            d = moment_drift(pr["unit_mean"], pr["unit_var"])
            if layer < len(d):
                drifts[name] = d[layer]
    if len(drifts) == 2:
        unit = cfg.probe_unit
        p, b = drifts["plain"], drifts["bn"]
        stiller = b.mean_range < p.mean_range and b.var_ratio_max < p.var_ratio_max
        looser = b.mean_range > p.mean_range and b.var_ratio_max > p.var_ratio_max
        out.append(_("Channel {unit}'s input to the nonlinearity (over N, H, W of the held-out "
                     "digits): in the plain net its mean moved over a range of {p_range:.2f} "
                     "and its variance went from {p_start:.3g} to {p_now:.3g} (at most "
                     "{p_ratio:.3g} times its start); in the BN net over {b_range:.2f}, "
                     "variance {b_start:.3g} to {b_now:.3g} (at most {b_ratio:.3g} times; BN's "
                     "gamma and beta set it).").format(
                         unit=unit, p_range=p.mean_range, p_start=p.var_start, p_now=p.var_now,
                         p_ratio=p.var_ratio_max, b_range=b.mean_range, b_start=b.var_start,
                         b_now=b.var_now, b_ratio=b.var_ratio_max) + " " + (
                       _("**BN kept this channel's statistics stiller** in mean and in variance.")
                       if stiller else
                       _("Here BN's channel moved more than the plain one's, in mean and "
                         "variance.")
                       if looser else
                       _("Neither net's channel was stiller in both mean and variance.")))
    check = channel_affine(nets["bn"], layer)
    if check is not None and math.isfinite(check.batch_mean_range):
        unit = cfg.probe_unit
        if check.holds:
            out.append(_("**T12 in the live run**: in the BN net, channel {unit}'s conv output "
                         "(what BN normalises) had a batch mean over N, H, W that ranged over "
                         "{range:.3g} during training, yet at every one of the {probes} probes "
                         "what the {activation} saw had mean = beta and variance = gamma^2 of "
                         "that channel (to {tolerance:g}): one statistic pair and one gamma/beta "
                         "pair per channel.").format(
                             unit=unit, range=check.batch_mean_range, probes=check.probes,
                             activation=cfg.activation, tolerance=AFFINE_TOLERANCE))
        else:
            out.append(_("In the BN net, channel {unit}'s input did not match its gamma and "
                         "beta (mean off by up to {mean_error:.3g}, variance by "
                         "{var_error:.1%}): check the BN placement setting.").format(
                             unit=unit, mean_error=check.max_mean_error,
                             var_error=check.max_var_error))
    return out


def claims(seeds=(0, 1, 2), quick: bool = False) -> list[dict]:
    """The CNN lesson's claims, measured by training both CNN presets on each seed.

    quick: 400 steps of the sigmoid twins and 300 of the ReLU twins (not 1,500 each)."""
    from bn_core.engine.training import prepare, train_to_end
    from bn_core.nets.models import build_twins

    sig_steps, relu_steps = (400, 300) if quick else (CNN_TWINS.steps, CNN_TWINS_RELU.steps)
    mark = EARLY_STEP
    sig, relu, checks, affine = {}, {}, {}, {}
    for seed in seeds:
        snap = train_to_end(CNN_TWINS.replace(seed=seed, steps=sig_steps))
        sig[seed] = {f"{n}_at_{mark}": round(value_at_step(v.evals["step"], v.evals["heldout_acc"],
                                                           mark), 3)
                     for n, v in snap.nets.items()} | \
            {f"{n}_final": round(float(v.evals["heldout_acc"][-1]), 3) for n, v in snap.nets.items()}
        a = channel_affine(snap.nets["bn"], 0)
        affine[seed] = {"batch_mean_range": round(a.batch_mean_range, 3),
                        "max_mean_error": float(f"{a.max_mean_error:.2g}"),
                        "max_var_error": float(f"{a.max_var_error:.2g}"), "probes": a.probes}
        snap = train_to_end(CNN_TWINS_RELU.replace(seed=seed, steps=relu_steps))
        relu[seed] = {f"{n}_at_{RELU_EARLY_STEP}": round(value_at_step(
            v.evals["step"], v.evals["heldout_acc"], RELU_EARLY_STEP), 3)
            for n, v in snap.nets.items()} | \
            {f"{n}_final": round(float(v.evals["heldout_acc"][-1]), 3) for n, v in snap.nets.items()}
        cfg = CNN_TWINS.replace(seed=seed)
        net = build_twins(cfg, 784, 10)["bn"]
        check = reshape_check(net, prepare(cfg).x_train[:cfg.batch_size])
        checks[seed] = {"max_abs_diff": float(f"{max(check.max_abs_diff):.2g}"),
                        "values_per_channel": check.values_per_channel}
    net_words = "2 conv layers of 8 channels, batch 32, 500 held-out digits"
    return [
        {"claim": f"Sigmoid CNN ({net_words}, lr 0.5): the BN twin is at least 0.3 ahead of "
                  f"the plain twin at step {mark} and still ahead after {sig_steps:,} steps "
                  "(held-out accuracy).",
         "values": sig,
         "holds": all(v[f"bn_at_{mark}"] >= v[f"plain_at_{mark}"] + 0.3
                      and v["bn_final"] > v["plain_final"] for v in sig.values())},
        {"claim": f"ReLU CNN with He init ({net_words}, lr 0.1): the twins end level, within "
                  f"0.02 of each other after {relu_steps:,} steps: BN gives this small CNN no "
                  f"accuracy edge (step {RELU_EARLY_STEP} values given too).",
         "values": relu,
         "holds": all(abs(v["bn_final"] - v["plain_final"]) <= 0.02 for v in relu.values())},
        {"claim": "T12, in the live sigmoid run: at every probe the BN net's channel 0 input to "
                  "the sigmoid has mean beta and variance gamma^2 of that channel (to 1e-3) "
                  "while the conv output it normalises moves (its batch mean's range given).",
         "values": affine,
         "holds": all(v["max_mean_error"] < AFFINE_TOLERANCE
                      and v["max_var_error"] < AFFINE_TOLERANCE and v["batch_mean_range"] > 0
                      for v in affine.values())},
        {"claim": "T12: the net's BatchNorm2d output equals the from-scratch float64 BN of the "
                  "(N*H*W, C) reshape (max abs difference below 1e-4), over 32*28*28 = 25,088 and "
                  "32*14*14 = 6,272 values per channel.",
         "values": checks,
         "holds": all(c["max_abs_diff"] < 1e-4 and c["values_per_channel"] == [25088, 6272]
                      for c in checks.values())},
    ]
