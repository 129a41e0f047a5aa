"""Reproductions from the command line: the BN paper's Figure 1, Santurkar's ICS measurement and
Santurkar's loss-landscape probes (their Fig. 4) on the BN paper's MNIST net.

Figure 1 can train its two nets in two processes at once (`jobs=2`): each process trains one
net of the same config, from the same initial weights on the same batch sequence, so the result
is identical to the in-process lockstep twin run (tests check this), only faster on 2 cores.
"""
from __future__ import annotations

import csv
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bn_core.config import RunConfig
from bn_core.presets import lesson_setup, preset
from bn_core.engine.records import NetView
from bn_core.engine.training import train_to_end

FIG1_COLUMNS = ("step", "net", "test_acc", "train_loss", "p15", "p50", "p85")
LANDSCAPE_COLUMNS = ("step", "net", "eta_over_lr", "loss", "grad_change")


def _train_one_net(config: RunConfig) -> NetView:
    return train_to_end(config).nets[config.nets[0]]


def train_nets(config: RunConfig, jobs: int = 1, progress=None) -> dict[str, NetView]:
    """Train the config's nets, in `jobs` processes (1 = the in-process lockstep run)."""
    if jobs <= 1 or len(config.nets) == 1:
        return dict(train_to_end(config, progress=progress).nets)
    singles = [config.replace(nets=(kind,)) for kind in config.nets]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(singles)), mp_context=ctx) as pool:
        views = list(pool.map(_train_one_net, singles))
    return {v.name: v for v in views}


def figure1_config(steps: int | None = None, seed: int = 0, data: str = "mnist-subset",
                   binarize: bool = False) -> RunConfig:
    base = preset("figure1").config
    return base.replace(steps=base.steps if steps is None else steps, seed=seed, dataset=data, binarize=binarize,
                        probe_every=min(base.probe_every, 100), eval_every=min(base.eval_every, 100))


def figure1_rows(nets: dict[str, NetView], layer: int = -1) -> list[dict]:
    """CSV rows: one per net and recorded step, with held-out accuracy, the mean training loss
    since the previous row and the percentiles of the probed unit of the last hidden layer."""
    rows = []
    for name, view in nets.items():
        ev, pr = view.evals, view.probes
        acc = dict(zip(ev["step"].tolist(), ev["heldout_acc"].tolist()))
        for i, step in enumerate(pr["step"].tolist()):
            p = pr["unit_pct"][i, layer, :]
            rows.append({"step": step, "net": name, "test_acc": acc.get(step, math.nan),
                         "train_loss": float(pr["loss"][i]), "p15": float(p[0]),
                         "p50": float(p[len(p) // 2]), "p85": float(p[-1])})
    rows.sort(key=lambda r: (r["step"], r["net"]))
    return rows


def write_figure1(nets: dict[str, NetView], config: RunConfig, out: Path) -> tuple[Path, Path]:
    import plotly.io  # plotly only when writing the figure

    from bn_core.figures.figure1 import figure1
    from bn_core.figures.figure1_page import dataset_name

    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "fig1.csv", out / "fig1.html"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIG1_COLUMNS)
        writer.writeheader()
        for row in figure1_rows(nets):
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    fig = figure1(nets, layer=config.depth - 1, activation=config.activation,
                  percentiles=config.percentiles, unit=config.probe_unit,
                  title=f"Figure 1 reproduced on {dataset_name(config.dataset)}: "
                        f"{config.steps:,} steps, seed {config.seed}, last hidden layer, unit "
                        f"{config.probe_unit}")
    plotly.io.write_html(fig, html_path, include_plotlyjs=True, full_html=True)
    return csv_path, html_path


def summarise_figure1(nets: dict[str, NetView], at_step: int = 300) -> dict:
    """The numbers a closing note quotes: accuracy at a step, and how far each band moved."""
    out = {}
    for name, view in nets.items():
        ev, pr = view.evals, view.probes
        steps = ev["step"]
        i = int(np.searchsorted(steps, at_step)) if len(steps) else 0
        i = min(i, len(steps) - 1)
        p = pr["unit_pct"][:, -1, :]
        mid, width = p[:, p.shape[1] // 2], p[:, -1] - p[:, 0]
        out[name] = {
            f"heldout_acc_at_{int(steps[i])}": round(float(ev["heldout_acc"][i]), 4),
            "final_heldout_acc": round(float(ev["heldout_acc"][-1]), 4),
            # how much the band moves after the first 10% of training
            "p50_range": round(float(np.ptp(mid[len(mid) // 10:])), 4),
            "band_width_range": round(float(np.ptp(width[len(width) // 10:])), 4),
            "p50_total_travel": round(float(np.abs(np.diff(mid)).sum()), 4),
            "status": view.status_text,
        }
    return out


def reproduce_ics(out: Path, steps: int | None = None, seed: int = 0) -> tuple[Path, dict]:
    """Santurkar's ICS for plain, BN and noisy BN in the deep linear network; writes ics.csv."""
    cfg = preset("deep-linear-ics").config
    cfg = cfg.replace(steps=cfg.steps if steps is None else steps, seed=seed)
    nets = train_to_end(cfg).nets
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ics.csv"
    summary = {}
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "net", "layer", "ics_l2", "ics_cos", "train_loss"])
        for name, view in nets.items():
            ics, ev = view.ics, view.evals
            loss_at = dict(zip(ev["step"].tolist(), ev["train_loss"].tolist()))
            for i, step in enumerate(ics["step"].tolist()):
                for layer in range(ics["dist"].shape[1]):
                    writer.writerow([step, name, layer + 1, f"{ics['dist'][i, layer]:.6g}",
                                     f"{ics['cos'][i, layer]:.6g}",
                                     f"{loss_at.get(step, math.nan):.6g}"])
            summary[name] = {
                "mean_cos": round(float(np.nanmean(ics["cos"][:, 1:])), 4),
                "mean_l2": round(float(np.nanmean(ics["dist"][:, 1:])), 6),
                "final_train_loss": round(float(ev["train_loss"][-1]), 6),
                "status": view.status_text,
            }
    return path, summary


def landscape_config(activation: str = "sigmoid", lr: float | None = None,
                     steps: int | None = None, seed: int = 0) -> RunConfig:
    """The "Does BN reduce ICS?" page's MNIST setup (3 x 100 sigmoid, lr 0.5), plain vs BN; with
    ReLU a 6 x 100 net with He's init (a ReLU net needs depth to be hard to train)."""
    cfg = lesson_setup("santurkar-mnist").replace(nets=("plain", "bn"), seed=seed)
    if activation == "relu":
        cfg = cfg.replace(activation="relu", depth=6, init="he")
    elif activation != "sigmoid":
        raise ValueError(f"activation: got {activation!r}; allowed: one of sigmoid, relu")
    if lr is not None:
        cfg = cfg.replace(lr=lr)
    if steps is not None:
        cfg = cfg.replace(steps=steps, ics_every=min(cfg.ics_every, steps))
    return cfg


def landscape_rows(nets: dict[str, NetView], lr: float) -> list[dict]:
    """CSV rows: one per measurement step, net and step size (eta as a multiple of lr): the loss
    at w - eta g and the gradient change ||g(w) - g(w - eta g)|| there."""
    from bn_core.nets.probes import LANDSCAPE_STEP_SIZES

    rows = []
    for name, view in nets.items():
        ics = view.ics
        for i, step in enumerate(np.asarray(ics.get("step", []), np.int64).tolist()):
            for j, eta in enumerate(LANDSCAPE_STEP_SIZES):
                rows.append({"step": step, "net": name, "eta_over_lr": eta,
                             "loss": float(ics["scape_loss"][i, j]),
                             "grad_change": float(ics["scape_grad_change"][i, j])})
    rows.sort(key=lambda r: (r["step"], r["net"], r["eta_over_lr"]))
    return rows


def reproduce_landscape(out: Path, activation: str = "sigmoid", lr: float | None = None,
                        steps: int | None = None, seed: int = 0) -> tuple[Path, Path, dict]:
    """Train plain and BN twins with landscape probes; write landscape.csv and landscape.html
    and return the per-net medians the page's conclusions use."""
    import plotly.io

    from bn_core.figures.ics import landscape_reproduction_figure
    from bn_core.lessons import santurkar

    cfg = landscape_config(activation, lr, steps, seed)
    nets = train_to_end(cfg).nets
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "landscape.csv", out / "landscape.html"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LANDSCAPE_COLUMNS)
        writer.writeheader()
        for row in landscape_rows(nets, cfg.effective_lr):
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    fig = landscape_reproduction_figure(
        nets, title=f"Loss landscape along the gradient: {cfg.depth} x {cfg.width} "
                    f"{cfg.activation}, {cfg.dataset}, lr {cfg.effective_lr:g}, seed {seed}")
    plotly.io.write_html(fig, str(html_path), include_plotlyjs=True, full_html=True)
    summary = {"config": {"activation": cfg.activation, "depth": cfg.depth, "init": cfg.init,
                          "lr": cfg.effective_lr, "steps": cfg.steps, "seed": seed}}
    for name, view in nets.items():
        s = santurkar.shift_summary(view)
        summary[name] = {**{f"median_{k}": round(v, 4) for k, v in s.landscape.items()},
                         "measurements": s.ics_records,
                         "on_plateau": s.plateau_records,
                         "first_loss": round(s.first_loss, 4), "last_loss": round(s.last_loss, 4),
                         "status": view.status_text}
    return csv_path, html_path, summary


def progress_printer(total: int):
    """A one-line progress display on stderr for long runs."""
    started = time.perf_counter()

    def show(snap):
        rate = snap.step / max(time.perf_counter() - started, 1e-9)
        sys.stderr.write(f"\r  step {snap.step:>7,}/{total:,}  {rate:7.0f} steps/s  ")
        sys.stderr.flush()
    return show
