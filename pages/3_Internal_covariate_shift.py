"""Internal covariate shift (T3, T6): every hidden layer's nonlinearity input, as a histogram over
training steps, for a plain and a BN net; each layer's mean and variance drift; and what BN
normalises when it sits before or after the activation."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import SETTINGS, TOY_DATASETS, Setting
from bn_core.lessons.distributions import (bn_input_text, largest_drift_text, layer_moments_text,
                                           layers_to_show, start_variance_text)
from bn_core.figures.distributions import (bn_input_figure, input_histogram_heatmaps,
                                           moment_drift_figure)
from bn_core.data.mnist import available_sources
from bn_core.presets import lesson_setup

# A ReLU net of depth 4 on the MNIST subset with He's init: the plain net's upper layers see
# their input's variance grow many-fold in a few thousand steps (23-56x at the top, seeds 0-2:
# docs/claims.md); the BN net's stays near 1. With ReLU, moving BN after the activation shows
# what BN then receives: half of it is exactly 0.
BASE = lesson_setup("internal-covariate-shift")
DATA_NAMES = {"mnist-subset": "MNIST subset (5,000 digits)", "mnist": "MNIST (full)",
              "fashion-mnist": "Fashion-MNIST", "moons": "2-D: moons", "circles": "2-D: circles",
              "blobs": "2-D: blobs", "xor": "2-D: xor", "spiral": "2-D: spiral"}
TOY_PACE = 200.0  # steps/s on 2-D data: a 3,000-step run lasts 15 s, long enough to watch
SHOWN_LAYERS = 6
VIEW = [Setting(name="layer", kind=int, default=BASE.depth, label="Layer in the heatmaps",
                lo=1, hi=SETTINGS["depth"].hi, url="layer",
                help="Which hidden layer's input the heatmaps show (1 = closest to the data). "
                     "Does not restart the run.")]


ui.page_header(
    "Internal covariate shift: every layer's input keeps moving", "T3, T6",
    "A hidden layer learns a function of its input, but that input is the output of the layers "
    "below, and they change at every step. So the distribution each layer sees (its mean, its "
    "spread, its shape) keeps moving under it while it trains: Ioffe and Szegedy called this "
    "**internal covariate shift**. Below, a plain and a BN net train on the same batches from "
    "the same weights; the charts show, layer by layer, the input of each nonlinearity over "
    "training. BN normalises a layer's values over the batch; *where* it does so (before or "
    "after the activation) decides what it sees.")

with ui.guard("the internal covariate shift page"):
    side = st.sidebar
    side.header("Run settings")
    present = [s for s, folder in available_sources().items() if folder]
    config = ui.config_controls(BASE,
                                ["dataset", "activation", "placement", "depth", "lr",
                                 "batch_size", "steps", "init", "init_scale"], container=side,
                                limits={"dataset": {"choices": tuple(present + list(TOY_DATASETS))}})
    config = config.replace(pace=TOY_PACE if config.is_toy else 0.0)
    side.header("What to show")
    view = ui.view_controls(VIEW, container=side)
    ui.share_link()
    layer = min(view["layer"], config.depth) - 1
    if view["layer"] > config.depth:
        st.info(f"The net has {config.depth} hidden layers; showing layer {config.depth}.")

    run = ui.run_controls(config)

    def render(snap):
        if not snap.nets:
            st.info("Loading the data and building the twin nets...")
            return
        cfg = snap.config
        act, place = cfg.activation, cfg.placement
        shown = layers_to_show(cfg.depth, SHOWN_LAYERS)

        st.subheader("1. The distribution of a layer's input, step by step")
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(input_histogram_heatmaps, snap, layer, key="ics:heat")
        with c2:
            st.markdown(layer_moments_text(snap, layer))
            normalised = ("In the BN net the nonlinearity's input is BN's output, so it stays "
                          "centred, with a spread set by gamma." if place == "before" else
                          "With BN *after* the activation, the BN net's nonlinearity input is "
                          "a plain linear output again: watch it drift in the BN net too.")
            ui.explain(
                "Each column is one moment of training; a stronger colour means more of the "
                "layer's values fall there. **Look for** the plain net's column widening and "
                f"sliding as training goes on. {normalised}\n\n"
                "**Try** the top layer vs layer 1, a sigmoid net, or the N(0, 1/fan_in) init.")

        st.subheader("2. Every layer's mean and variance over training")
        n_probe = min(cfg.heldout_size, len(snap.data.x_heldout)) if snap.data else cfg.heldout_size
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(moment_drift_figure, snap, shown, key="ics:moments")
        with c2:
            st.markdown(largest_drift_text(snap))
            start = start_variance_text(snap)
            if start:
                ui.explain(start)
            ui.explain(
                f"Pooled over every unit of the layer and the {n_probe:,} held-out probe "
                "examples. "
                "**Look for** the plain net's curves moving most in the top layers: each layer "
                "adds its own change to the changes of the layers below. "
                + (f"Only {len(shown)} of the {cfg.depth} layers are drawn. " if len(shown) <
                   cfg.depth else "")
                + "\n\n**Try** more hidden layers (6-8) and watch the top ones.")

        st.subheader("3. What BN sees: before or after the activation")
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(bn_input_figure, snap, shown, key="ics:bn")
        with c2:
            seen = bn_input_text(snap, shown)
            if seen:
                st.markdown(seen)
            if place == "before":
                ui.explain(
                    "BN sits **before** the activation (the paper's choice): it normalises "
                    "linear outputs, which are roughly symmetric and bell-shaped (skewness "
                    "near 0), so a mean and a variance describe them well.\n\n**Try** "
                    "*BN placement: after* with the ReLU activation.")
            else:
                ui.explain(
                    f"BN sits **after** the {act}: it normalises the activation's outputs. "
                    + ("A ReLU sets every negative input to exactly 0, so about half of what "
                       "BN receives is a spike at 0 and the rest a one-sided tail (strongly "
                       "skewed): a mean and a variance describe that poorly. " if act == "relu"
                       else "")
                    + "Which placement trains better is an empirical question: compare the "
                      "accuracy of the two runs.\n\n**Try** *BN placement: before* to compare.")
            accs = [f"{v.label} {float(v.evals['heldout_acc'][-1]):.0%}"
                    for v in snap.nets.values() if len(v.evals.get("step", ())) > 0]
            if accs:
                st.caption(f"Held-out accuracy now: {', '.join(accs)}.")
        with st.expander("Export this run"):
            ui.export_controls(snap, "internal-covariate-shift")

    if run is not None:
        ui.live_view(run, render)
