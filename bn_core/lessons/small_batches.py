"""BN, LayerNorm and GroupNorm at tiny batches (Wu and He 2018): a batch-size sweep on MNIST.

One run per batch size (2 to 128), each training a BN, a LayerNorm and a GroupNorm net side by
side from the same weights on the same batches, for the same number of examples seen (the
same epochs at every batch size). Wu and He report BN's ImageNet error rising from 23.6 % at
32 images per GPU to 34.7 % at 2 while GroupNorm stays near 24 %; here the student measures
the pattern on MNIST, and why: the noise of batch statistics at each size, and BN's gap
between training mode (batch statistics) and eval mode (running statistics).

Learning rate (BN Lab's choice): the linear scaling rule of Goyal et al. 2017, which Wu and
He used for their batch-size study: lr = LR_AT_REFERENCE * m / REFERENCE_BATCH, so that one
epoch moves the weights by about as much at every batch size.

Everything here is a pure function of configs, snapshots or arrays; the runs themselves are
ordinary runs of the engine (shared by key, so a class watching the default sweep trains it once).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from bn_core.config import RunConfig
from bn_core.i18n import _
from bn_core.presets import PRESETS
from bn_core.nets import probes

SWEEP_BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128)
SWEEP_NETS = ("bn", "layernorm", "groupnorm")
REFERENCE_BATCH = 32         # the batch size LR_AT_REFERENCE is set for
LR_AT_REFERENCE = 0.1        # ReLU MLP, SGD: BN Lab's choice (see the module docstring)
SWEEP_EPOCHS = 2             # examples seen = SWEEP_EPOCHS * 4,000 at every batch size
RECORDS_PER_RUN = 20         # evaluations (and probes) per run, whatever its length
NOISE_BATCHES = 2000         # batches drawn per size for the batch-statistics noise
NOISE_PERCENTILES = (5, 50, 95)
DEGRADED = 0.02              # an accuracy this much below the reference batch's is "lower"
MODE_GAP_FACTOR = 2.0        # BN's mode gap must exceed LayerNorm's (the control) this much
TRAIN_SET_SIZE = 4000        # the bundled MNIST subset's training digits
TRAIN_MODE_KEY = "heldout_acc_train_mode"  # the eval column a trainer may add (probes.
#                                            train_mode_accuracy at the run's batch size)

SWEEP_BASE = PRESETS["small-batches"].config  # the batch-32 run; the others derive from it


def scaled_lr(lr_at_reference: float, batch_size: int,
              reference: int = REFERENCE_BATCH) -> float:
    """The linear scaling rule: the learning rate grows in proportion to the batch size."""
    return lr_at_reference * batch_size / reference


def max_lr_at_reference(sizes=SWEEP_BATCH_SIZES) -> float:
    """The largest learning rate at the reference batch whose scaled rate at the sweep's largest
    batch is still a valid setting (the page's learning-rate slider stops there)."""
    from bn_core.config import SETTINGS

    return SETTINGS["lr"].hi * REFERENCE_BATCH / max(max(sizes), REFERENCE_BATCH)


def min_lr_at_reference(sizes=SWEEP_BATCH_SIZES) -> float:
    """The smallest learning rate at the reference batch whose scaled rate at the sweep's
    smallest batch is still a valid setting."""
    from bn_core.config import SETTINGS

    return SETTINGS["lr"].lo * REFERENCE_BATCH / min(min(sizes), REFERENCE_BATCH)


def sweep_config(batch_size: int, base: RunConfig = SWEEP_BASE, epochs: float = SWEEP_EPOCHS,
                 train_size: int = TRAIN_SET_SIZE) -> RunConfig:
    """The run of one batch size: the same examples seen (epochs x train_size), the learning
    rate scaled linearly from `base.lr` at REFERENCE_BATCH, about RECORDS_PER_RUN evaluations."""
    if batch_size < 2:
        raise ValueError(f"batch_size: got {batch_size}; allowed: 2 or more (BN in training "
                         "mode needs at least 2 values per unit)")
    steps = max(1, round(epochs * (train_size // batch_size)))
    every = max(1, steps // RECORDS_PER_RUN)
    return base.replace(batch_size=batch_size, lr=scaled_lr(base.lr, batch_size),
                        steps=steps, probe_every=every, eval_every=every)


def sweep_configs(sizes=SWEEP_BATCH_SIZES, base: RunConfig = SWEEP_BASE,
                  epochs: float = SWEEP_EPOCHS) -> list[RunConfig]:
    """One config per batch size, smallest first."""
    return [sweep_config(m, base, epochs) for m in sorted(set(int(s) for s in sizes))]


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class NetResult:
    """What one net reached in one run of the sweep."""

    name: str
    label: str
    status: str
    heldout_acc: float       # eval mode: BN uses its running statistics
    train_eval_loss: float   # eval mode, on 500 training digits
    train_mode_loss: float   # training mode, the run's own batches: mean over the last record's
    #                          window (the last 1/RECORDS_PER_RUN of the run)
    step: int
    train_mode_acc: float = math.nan  # held-out accuracy in training mode at the run's batch
    #                                   size, if the run records it (TRAIN_MODE_KEY)

    @property
    def mode_gap(self) -> float:
        """Eval-mode loss on training digits minus the training-mode loss on the run's batches:
        how much worse the net does once batch statistics are replaced by running ones."""
        return self.train_eval_loss - self.train_mode_loss


@dataclass(frozen=True)
class SweepPoint:
    """One batch size of the sweep: its config and each net's result (None until finished)."""

    batch_size: int
    lr: float
    steps: int
    examples: int
    finished: bool
    nets: dict               # net name -> NetResult


def _last_finite(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v[-1]) if v.size else math.nan


def _recent_mean(values, last: int = 1) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)][-last:]
    return float(v.mean()) if v.size else math.nan


def net_result(view) -> NetResult:
    """A net's last eval-mode accuracy and losses, and its recent training-mode loss."""
    ev, pr = view.evals, view.probes
    return NetResult(name=view.name, label=view.label, status=view.status,
                     heldout_acc=_last_finite(ev.get("heldout_acc", [])),
                     train_eval_loss=_last_finite(ev.get("train_loss", [])),
                     train_mode_loss=_recent_mean(pr.get("loss", [])),
                     step=int(ev["step"][-1]) if len(ev.get("step", ())) else 0,
                     train_mode_acc=_last_finite(ev.get(TRAIN_MODE_KEY, [])))


def sweep_point(snapshot) -> SweepPoint:
    """Summarise one run of the sweep from its snapshot."""
    cfg = snapshot.config
    return SweepPoint(batch_size=cfg.batch_size, lr=cfg.effective_lr, steps=cfg.steps,
                      examples=cfg.steps * cfg.batch_size,
                      finished=snapshot.status == "finished",
                      nets={name: net_result(view) for name, view in snapshot.nets.items()})


def accuracy_table(points: list[SweepPoint], nets=SWEEP_NETS) -> dict[str, np.ndarray]:
    """Held-out accuracy (eval mode) by batch size: {"batch_size": (S,), net: (S,)}; nan where a
    run has not finished (a page draws what is measured, never a guess)."""
    points = sorted(points, key=lambda p: p.batch_size)
    out = {"batch_size": np.array([p.batch_size for p in points], np.int64)}
    for name in nets:
        out[name] = np.array([p.nets[name].heldout_acc if p.finished and name in p.nets
                              else math.nan for p in points])
    return out


def _at(points: list[SweepPoint], m: int, name: str) -> float:
    for p in points:
        if p.batch_size == m and p.finished and name in p.nets:
            return p.nets[name].heldout_acc
    return math.nan


def findings(points: list[SweepPoint], reference: int = REFERENCE_BATCH) -> list[str]:
    """The sentences a page prints under the sweep, each from what the finished runs show."""
    return [text for _topic, text in findings_by_topic(points, reference)]


def mode_findings(points: list[SweepPoint], reference: int = REFERENCE_BATCH) -> list[str]:
    """The sentences of `findings` about BN's two modes (training and eval), in order."""
    return [text for topic, text in findings_by_topic(points, reference) if topic == "modes"]


def sweep_findings(points: list[SweepPoint], reference: int = REFERENCE_BATCH) -> list[str]:
    """The sentences of `findings` about accuracy by batch size (all but the modes')."""
    return [text for topic, text in findings_by_topic(points, reference) if topic != "modes"]


def findings_by_topic(points: list[SweepPoint], reference: int = REFERENCE_BATCH
                      ) -> list[tuple[str, str]]:
    """`findings` as (topic, sentence) pairs: "sizes" (accuracy by batch size) or "modes"
    (BN's training mode against its eval mode), so a page can pick one topic in any language."""
    done = sorted((p for p in points if p.finished), key=lambda p: p.batch_size)
    if not done:
        return []
    ref = next((p for p in done if p.batch_size == reference), None)
    out: list[tuple[str, str]] = []
    if ref is None:
        out.append(("sizes", _("The batch-{reference} run (the reference) has not finished "
                               "yet.").format(reference=reference)))
        return out
    smallest = done[0]
    if smallest.batch_size >= reference:
        return out
    m = smallest.batch_size
    for name in ("bn", "layernorm", "groupnorm"):
        if name not in ref.nets or name not in smallest.nets:
            continue
        a_small, a_ref = smallest.nets[name].heldout_acc, ref.nets[name].heldout_acc
        label = _(ref.nets[name].label)
        if not (math.isfinite(a_small) and math.isfinite(a_ref)):
            out.append(("sizes", _("{net}: no accuracy at batch {m} or {reference} "
                                   "({status}).").format(
                                       net=label, m=m, reference=reference,
                                       status=_(smallest.nets[name].status))))
            continue
        drop = a_ref - a_small
        values = {"net": label, "ref_acc": a_ref, "reference": reference, "small_acc": a_small,
                  "m": m}
        if drop > DEGRADED:
            text = _("**{net}**: held-out accuracy {ref_acc:.1%} at batch {reference}, "
                     "{small_acc:.1%} at batch {m}: **{drop:.1%} lower** at batch {m}.").format(
                         drop=drop, **values)
        elif drop >= -DEGRADED:
            text = _("**{net}**: held-out accuracy {ref_acc:.1%} at batch {reference}, "
                     "{small_acc:.1%} at batch {m}: about the same at batch {m} "
                     "({change:+.1%}).").format(change=-drop, **values)
        else:
            text = _("**{net}**: held-out accuracy {ref_acc:.1%} at batch {reference}, "
                     "{small_acc:.1%} at batch {m}: **{rise:.1%} higher** at batch "
                     "{m}.").format(rise=-drop, **values)
        out.append(("sizes", text))
    bn_small = smallest.nets.get("bn")
    ln_small = smallest.nets.get("layernorm")
    direct = bn_small is not None and math.isfinite(bn_small.train_mode_acc)
    if direct:
        gap = bn_small.heldout_acc - bn_small.train_mode_acc
        values = {"m": m, "eval_acc": bn_small.heldout_acc, "train_acc": bn_small.train_mode_acc}
        if gap > DEGRADED:
            text = _("**BN's two modes at batch {m}**: held-out accuracy {eval_acc:.1%} in eval "
                     "mode (running statistics), {train_acc:.1%} in training mode (each batch "
                     "of {m} normalised with its own statistics): eval mode is {gap:.1%} "
                     "better.").format(gap=gap, **values)
        elif gap < -DEGRADED:
            text = _("**BN's two modes at batch {m}**: held-out accuracy {eval_acc:.1%} in eval "
                     "mode (running statistics), {train_acc:.1%} in training mode (each batch "
                     "of {m} normalised with its own statistics): training mode is {gap:.1%} "
                     "better.").format(gap=-gap, **values)
        else:
            text = _("**BN's two modes at batch {m}**: held-out accuracy {eval_acc:.1%} in eval "
                     "mode (running statistics), {train_acc:.1%} in training mode (each batch "
                     "of {m} normalised with its own statistics): about the same.").format(
                         **values)
        if ln_small is not None and math.isfinite(ln_small.train_mode_acc):
            text += _(" LayerNorm, which has no batch statistics: {eval_acc:.1%} and "
                      "{train_acc:.1%}.").format(eval_acc=ln_small.heldout_acc,
                                                 train_acc=ln_small.train_mode_acc)
        out.append(("modes", text))
    if not direct and bn_small and ln_small and math.isfinite(bn_small.mode_gap) \
            and math.isfinite(ln_small.mode_gap):
        gap, control = abs(bn_small.mode_gap), abs(ln_small.mode_gap)
        values = {"m": m, "eval_loss": bn_small.train_eval_loss,
                  "train_loss": bn_small.train_mode_loss, "gap": gap, "control": control}
        if gap > MODE_GAP_FACTOR * control and bn_small.mode_gap < 0:
            text = _("**BN's two modes at batch {m}**: loss on training digits {eval_loss:.3f} "
                     "in eval mode (running statistics) against {train_loss:.3f} in training "
                     "mode (statistics of its batches of {m}); eval mode did better: the "
                     "statistics of so few examples hurt even the loss on the very batches "
                     "they came from. The same two losses differ by {gap:.3f} for BN and only "
                     "{control:.3f} for LayerNorm, whose two modes are the same "
                     "function.").format(**values)
        elif gap > MODE_GAP_FACTOR * control:
            text = _("**BN's two modes at batch {m}**: loss on training digits {eval_loss:.3f} "
                     "in eval mode (running statistics) against {train_loss:.3f} in training "
                     "mode (statistics of its batches of {m}); eval mode did worse: the running "
                     "statistics do not match what the net learned to expect from its batches. "
                     "The same two losses differ by {gap:.3f} for BN and only {control:.3f} "
                     "for LayerNorm, whose two modes are the same function.").format(**values)
        else:
            text = _("BN at batch {m}: loss on training digits {eval_loss:.3f} in eval mode "
                     "(running statistics) against {train_loss:.3f} in training mode "
                     "(statistics of its batches of {m}), a difference of {gap:.3f}; "
                     "LayerNorm's two losses (the same function in both modes) differ by "
                     "{control:.3f}, so this run's losses do not separate a mode gap from the "
                     "noise of the training loss.").format(**values)
        out.append(("modes", text))
    if len(done) >= 3:
        parts = []
        for name in ("bn", "layernorm", "groupnorm"):
            accs = [(p.nets[name].heldout_acc, p.batch_size) for p in done if name in p.nets
                    and math.isfinite(p.nets[name].heldout_acc)]
            if accs:
                lo, hi = min(accs), max(accs)
                parts.append(_("{net} {lo:.1%} (batch {lo_batch}) to {hi:.1%} "
                               "(batch {hi_batch})").format(
                                   net=_(done[0].nets[name].label), lo=lo[0], lo_batch=lo[1],
                                   hi=hi[0], hi_batch=hi[1]))
        largest = done[-1]
        out.append(("sizes", _("Across the batch sizes finished so far, held-out accuracy "
                               "ranged: {ranges}. At batch {batch} each net took only {steps:,} "
                               "steps for the same examples seen; LayerNorm and GroupNorm have "
                               "no batch statistics, so a drop of theirs there is not about "
                               "batch statistics.").format(
                                   ranges=_("; ").join(parts), batch=largest.batch_size,
                                   steps=largest.steps)))
    return out


# ---------------------------------------------------------------------------- noise


@dataclass(frozen=True)
class StatisticsNoise:
    """How far batch statistics of one unit fall from its population values, by batch size:
    percentiles (5, 50, 95) over many batches of the batch mean's error in population standard
    deviations, and of the biased batch variance over the population variance."""

    sizes: np.ndarray          # (S,)
    mean_error: np.ndarray     # (S, 3): (batch mean - population mean) / population std
    var_ratio: np.ndarray      # (S, 3): batch variance / population variance
    mean_spread: np.ndarray    # (S,): the batch means' standard deviation, in population stds
    population_mean: float
    population_var: float
    unit: int
    layer: int


def unit_inputs(config: RunConfig, x: torch.Tensor, layer: int = 0) -> np.ndarray:
    """What BN normalises in hidden layer `layer` (0-based) on inputs x, at the run's initial
    weights: the linear outputs (N, width) of the plain twin (BN below the layer would change
    them, so deeper layers are taken from the net without any normalisation)."""
    from bn_core.nets.models import build_twins  # torch nets: imported where needed

    net = build_twins(config.replace(nets=("plain",)), x.shape[1], 10)["plain"]
    trace: list = []
    with torch.no_grad():
        net(x, trace)
    if not 0 <= layer < len(trace):
        raise ValueError(f"layer: got {layer}; allowed: between 0 and {len(trace) - 1}")
    return trace[layer]["z"].numpy().astype(np.float64)


def statistics_noise(values: np.ndarray, sizes=SWEEP_BATCH_SIZES, n_batches: int = NOISE_BATCHES,
                     seed: int = 0, unit: int = 0, layer: int = 0) -> StatisticsNoise:
    """Batches of each size drawn at random (without replacement within a batch) from the rows
    of `values` (N, units); the statistics of column `unit` against its population values."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or not 0 <= unit < values.shape[1]:
        raise ValueError(f"unit: got {unit}; values have shape {values.shape}")
    col = values[:, unit]
    n = len(col)
    sizes = np.array(sorted(set(int(s) for s in sizes)))
    if sizes[0] < 2 or sizes[-1] > n:
        raise ValueError(f"batch sizes must lie between 2 and {n}; got {sizes.tolist()}")
    pop_mean, pop_var = float(col.mean()), float(col.var())
    if not pop_var > 0:
        raise ValueError(f"unit {unit} is constant over the data: its variance is 0")
    rng = np.random.default_rng([seed, 23])
    mean_err = np.empty((len(sizes), len(NOISE_PERCENTILES)))
    var_ratio = np.empty_like(mean_err)
    spread = np.empty(len(sizes))
    for i, m in enumerate(sizes):
        idx = np.stack([rng.choice(n, m, replace=False) for _ in range(n_batches)])
        batch = col[idx]
        err = (batch.mean(axis=1) - pop_mean) / math.sqrt(pop_var)
        ratio = batch.var(axis=1) / pop_var
        mean_err[i] = np.percentile(err, NOISE_PERCENTILES)
        var_ratio[i] = np.percentile(ratio, NOISE_PERCENTILES)
        spread[i] = err.std()
    return StatisticsNoise(sizes=sizes, mean_error=mean_err, var_ratio=var_ratio,
                           mean_spread=spread, population_mean=pop_mean,
                           population_var=pop_var, unit=unit, layer=layer)


def noise_sentence(noise: StatisticsNoise) -> str:
    """What the noise table says, in words, from its smallest and largest batch."""
    lo, hi = 0, len(noise.sizes) - 1
    m_lo, m_hi = int(noise.sizes[lo]), int(noise.sizes[hi])
    v5, v95 = noise.var_ratio[lo, 0], noise.var_ratio[lo, 2]
    return _("Unit {unit} of hidden layer {layer}: the mean of a batch of {m_lo} strays from "
             "the true mean by {spread_lo:.2f} population standard deviations (its spread over "
             "many batches), of a batch of {m_hi} by only {spread_hi:.2f}; the batch variance "
             "of {m_lo} values ranges from {v5:.2g} to {v95:.2g} times the true one (5th to "
             "95th percentile), against {hi5:.2f} to {hi95:.2f} at {m_hi}. BN divides by this "
             "noisy variance.").format(
                 unit=noise.unit, layer=noise.layer + 1, m_lo=m_lo, m_hi=m_hi,
                 spread_lo=noise.mean_spread[lo], spread_hi=noise.mean_spread[hi], v5=v5,
                 v95=v95, hi5=noise.var_ratio[hi, 0], hi95=noise.var_ratio[hi, 2])


# ---------------------------------------------------------------------------- train vs eval mode


def measure_modes(config: RunConfig, nets=("bn", "layernorm")) -> dict[str, dict]:
    """Train the config's `nets` exactly as its run does (same weights, same batches, the same
    SGD), then measure held-out accuracy in eval mode and in training mode at the run's batch
    size. For BN the two differ (running vs batch statistics); for LayerNorm they cannot.

    For the claim check and the command line: a page reads the run's own records instead."""
    from bn_core.engine.training import SGD, BatchSchedule, prepare
    from bn_core.nets.models import build_twins

    config = config.replace(nets=tuple(n for n in config.nets if n in nets))
    setup = prepare(config)
    models = build_twins(config, setup.x_train.shape[1], setup.n_outputs)
    params = {k: [p for p in m.parameters() if p.requires_grad] for k, m in models.items()}
    optimizers = {k: SGD(params[k], config.effective_lr, config.momentum) for k in models}
    schedule = BatchSchedule(setup.data.y_train, config.batch_size, config.shuffle, config.seed)
    for step in range(config.steps):
        idx = schedule.indices(step)
        xb, yb = setup.x_train.index_select(0, idx), setup.y_train.index_select(0, idx)
        for k, model in models.items():
            grads = torch.autograd.grad(probes.loss_of(model(xb), yb, False), params[k])
            optimizers[k].step(grads)
    x, y = setup.eval_sets["heldout"]
    out = {}
    for k, model in models.items():
        model.eval()
        with torch.no_grad():
            eval_acc = int((model(x).argmax(1) == y).sum()) / len(y)  # exact, as below
        model.train()
        out[k] = {"eval_acc": eval_acc,
                  "train_mode_acc": probes.train_mode_accuracy(model, x, y, config.batch_size,
                                                               config.seed)}
    return out


# ---------------------------------------------------------------------------- claims


def claims(seeds=(0, 1, 2), quick: bool = False) -> list[dict]:
    """The lesson's claims, measured by running the sweep on each seed.

    quick: batch sizes 2, 4 and 32 only, 1 epoch (not 2 epochs of 2 to 128)."""
    from bn_core.engine.training import prepare, train_to_end  # trains: only when measuring

    sizes, epochs = ((2, 4, REFERENCE_BATCH), 1) if quick else (SWEEP_BATCH_SIZES, SWEEP_EPOCHS)
    acc, gaps, noise_rows = {}, {}, {}
    for seed in seeds:
        points = [sweep_point(train_to_end(c))
                  for c in sweep_configs(sizes, SWEEP_BASE.replace(seed=seed), epochs)]
        acc[seed] = {name: {p.batch_size: round(p.nets[name].heldout_acc, 3) for p in points}
                     for name in SWEEP_NETS}
        gaps[seed] = {}
        for c in sweep_configs((2, 4), SWEEP_BASE.replace(seed=seed), epochs):
            modes = measure_modes(c)
            gaps[seed][c.batch_size] = {n: {k: round(v, 3) for k, v in r.items()}
                                        for n, r in modes.items()}
        cfg = SWEEP_BASE.replace(seed=seed)
        noise = statistics_noise(unit_inputs(cfg, prepare(cfg).x_train), sizes=(2, 128),
                                 seed=seed)
        noise_rows[seed] = {"mean_spread_2": round(float(noise.mean_spread[0]), 3),
                            "mean_spread_128": round(float(noise.mean_spread[1]), 3),
                            "var_ratio_2_p5_p95": [round(float(v), 3)
                                                   for v in noise.var_ratio[0, [0, 2]]]}
    ref = REFERENCE_BATCH
    setup = (f"MNIST subset, 3x100 ReLU MLP, SGD lr {LR_AT_REFERENCE:g} x m/{ref}, "
             f"{epochs:g} epoch(s) at every batch size m in {', '.join(map(str, sizes))}; "
             "held-out accuracy on 1,000 test digits, BN in eval mode")
    return [
        {"claim": f"BN degrades at tiny batches: its held-out accuracy at batch 2 is at least "
                  f"0.10 below its accuracy at batch {ref}, and at batch 4 at least 0.02 below. "
                  f"{setup}.",
         "values": {s: a["bn"] for s, a in acc.items()},
         "holds": all(a["bn"][2] <= a["bn"][ref] - 0.10 and a["bn"][4] <= a["bn"][ref] - 0.02
                      for a in acc.values())},
        {"claim": f"LayerNorm and GroupNorm do not: at batches 2 and 4 each is within 0.02 of "
                  f"its batch-{ref} accuracy, or above it. {setup}.",
         "values": {s: {n: a[n] for n in ("layernorm", "groupnorm")} for s, a in acc.items()},
         "holds": all(a[n][m] >= a[n][ref] - 0.02 for a in acc.values()
                      for n in ("layernorm", "groupnorm") for m in (2, 4))},
        {"claim": "BN's training mode and eval mode disagree at tiny batches: at batches 2 and 4 "
                  "BN's held-out accuracy in training mode (batches of that size normalised "
                  "with their own statistics) differs from its eval-mode accuracy (running "
                  "statistics) by more than 0.05, while LayerNorm's two accuracies are equal. "
                  f"{setup}.",
         "values": gaps,
         "holds": all(abs(r["bn"]["eval_acc"] - r["bn"]["train_mode_acc"]) > 0.05
                      and r["layernorm"]["eval_acc"] == r["layernorm"]["train_mode_acc"]
                      for g in gaps.values() for r in g.values())},
        {"claim": "Batch statistics are noisy at tiny batches: at the run's initial weights, the "
                  "batch mean of layer 1's unit 0 strays at least 5 times as far from the "
                  "population mean at batch 2 as at batch 128 (standard deviation over 2,000 "
                  "batches, in population standard deviations), and the batch variance at "
                  "batch 2 spans more than a factor of 10 between its 5th and 95th percentiles.",
         "values": noise_rows,
         "holds": all(r["mean_spread_2"] >= 5 * r["mean_spread_128"]
                      and r["var_ratio_2_p5_p95"][1] > 10 * r["var_ratio_2_p5_p95"][0]
                      for r in noise_rows.values())},
    ]


# ---------------------------------------------------------------------------- for the page


@functools.lru_cache(maxsize=8)
def _noise_at_start(key: str, config: RunConfig, layer: int, unit: int) -> StatisticsNoise:
    from bn_core.engine.training import prepare  # loads the data: only when first asked

    values = unit_inputs(config, prepare(config).x_train, layer)
    return statistics_noise(values, seed=config.seed, unit=unit, layer=layer)


def noise_at_start(config: RunConfig, layer: int = 0, unit: int | None = None) -> StatisticsNoise:
    """`statistics_noise` of the run's training digits at its initial weights (hidden layer
    `layer`, the probed unit by default), kept per config: every viewer of the page shares it."""
    unit = config.probe_unit if unit is None else unit
    return _noise_at_start(config.key(), config, layer, unit)


def sweep_progress(points: list[SweepPoint]) -> str:
    """How far the sweep is, in words: how many runs have finished and which still train."""
    done = [p.batch_size for p in points if p.finished]
    going = [p.batch_size for p in sorted(points, key=lambda p: p.batch_size) if not p.finished]
    if not going:
        return _("All {count} runs have finished.").format(count=len(points))
    return _("{done} of {count} runs finished; still training: batch {batches}.").format(
        done=len(done), count=len(points), batches=_(", ").join(map(str, going)))
