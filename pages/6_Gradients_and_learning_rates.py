"""Gradients and learning rates (T5, T9): per-layer gradient norms with and without BN, depth
and init scale (vanishing and exploding gradients), learning-rate multipliers x1 / x5 / x30
(a diverged net shown as such), sigmoid vs ReLU."""
import math

import numpy as np
import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS
from bn_core.figures.gradients import (
    gradient_heatmap_figure,
    gradient_profile_figure,
    latest_profile,
    orders_of_magnitude,
    training_curves_figure,
    vanishing_ratio_figure,
)
from bn_core.presets import lesson_setup, preset

# The default: a 10-layer sigmoid net on the MNIST subset (the BN-x5-Sigmoid analogue).
BASE = lesson_setup("gradients")
DATASETS_OFFERED = ("mnist-subset",) + TOY_DATASETS
SETTINGS_SHOWN = ["lr_multiplier", "activation", "depth", "width", "init_scale", "lr",
                  "dataset", "steps", "seed"]
# One click sets several settings at once. The ReLU learning-rate scenarios are the presets
# lr-x1/x5/x30 (measured there: at x5 and x30 the plain net diverges within 4-6 steps while the
# BN net reaches 0.95-0.96 held-out accuracy).
SCENARIO_FIELDS = ("activation", "depth", "width", "init_scale", "lr", "lr_multiplier", "dataset")


def preset_values(name: str) -> dict:
    config = preset(name).config
    return {field: getattr(config, field) for field in SCENARIO_FIELDS}


SCENARIOS = {
    "Deep sigmoid (vanishing gradients)": dict(
        activation="sigmoid", depth=10, width=64, init_scale=1.0, lr=0.1, lr_multiplier=1.0,
        dataset="mnist-subset"),
    "ReLU, learning rate x1": preset_values("lr-x1"),
    "ReLU, x5 (BN-x5)": preset_values("lr-x5"),
    "ReLU, x30 (BN-x30)": preset_values("lr-x30"),
    "Large init (exploding)": dict(
        activation="relu", depth=10, width=64, init_scale=3.0, lr=0.1, lr_multiplier=1.0,
        dataset="mnist-subset"),
}


def apply_scenario(values: dict) -> None:
    """Set the sidebar's run settings to a scenario's values (all on the widgets' grids)."""
    for name, value in values.items():
        ui.set_setting(name, value)


def sci(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1e}"


def gradient_text(snap) -> str:
    """Each net's latest gradient norms at the bottom and the top, in words."""
    rows = []
    for v in snap.nets.values():
        prof = latest_profile(v)
        if prof is None:
            why = (f"diverged at step {v.diverged_at:,} before its first probe"
                   if v.status == "diverged" else "no gradient norms recorded yet"
                   if len(v.probes.get("step", ())) < 2 else
                   "this run recorded no gradient norms")
            rows.append(f"- **{v.label}**: {why}")
            continue
        step, g = prof
        drop = orders_of_magnitude(g)
        how = (f"{drop:.1f} powers of ten smaller at the bottom" if drop >= 0.05 else
               f"{-drop:.1f} powers of ten larger at the bottom" if drop <= -0.05 else
               "about equal")
        rows.append(f"- **{v.label}** (step {step:,}): layer 1 {sci(g[0])}, output "
                    f"{sci(g[-1])}: {how}")
    return "**Gradient norm, bottom vs top**\n" + "\n".join(rows)


def accuracy_text(snap) -> str:
    rows = []
    for v in snap.nets.values():
        acc = v.evals.get("heldout_acc")
        if acc is None or not len(acc):
            rows.append(f"- **{v.label}**: {v.status_text}")
            continue
        rows.append(f"- **{v.label}**: {float(acc[-1]):.0%} now, best "
                    f"{float(np.nanmax(acc)):.0%} ({v.status_text})")
    return "**Held-out accuracy**\n" + "\n".join(rows)


def profile_hint(cfg) -> str:
    if cfg.activation == "sigmoid":
        return ("Each sigmoid layer multiplies the signal by its slope (at most 0.25) and by "
                "its weights: in the plain net the line falls steeply toward layer 1. In the "
                "BN net each layer divides by its input's spread, which keeps the line flat.")
    if cfg.activation == "relu":
        return ("A ReLU passes the signal through where it is on (slope 1), so depth alone "
                "hurts less; the weights' scale decides: **try** init scale 3 (exploding) or "
                "0.5 (vanishing).")
    return "**Try** sigmoid with 10 layers to see a gradient vanish."


def lr_hint(snap) -> str:
    cfg = snap.config
    diverged = [v for v in snap.nets.values() if v.status == "diverged"]
    if diverged:
        v = diverged[0]
        return (f"At learning rate {cfg.effective_lr:g} the {v.label} net's loss or weights "
                f"stopped being finite numbers at step {v.diverged_at:,} (dashed line); its "
                "twin kept training. BN makes a layer's output independent of its weights' "
                "scale, so an oversized step cannot blow the activations up.")
    if cfg.lr_multiplier < 5:
        return ("**Try** the multiplier x5 and x30 (the BN paper's BN-x5 and BN-x30), or the "
                "ReLU scenarios above.")
    return ("Neither net diverged at this rate. **Try** a ReLU net (the ReLU scenarios) or a "
            "larger multiplier.")


ui.page_header(
    "Gradients and learning rates", "T5, T9",
    "Training sends an error signal from the output down through every layer. A sigmoid's "
    "slope is at most 0.25, so in a plain sigmoid net the signal shrinks at every layer it "
    "crosses: the lowest layers barely learn (**vanishing gradients**); large weights can "
    "instead multiply it up (**exploding gradients**). BN keeps each layer's input in the "
    "nonlinearity's responsive range and makes a layer's output independent of its weights' "
    "scale, which is why the BN paper could raise the learning rate 5x and 30x. Twin nets, "
    "same start, same batches: only BN differs.")

with ui.guard("the gradients page"):
    st.markdown("**Scenarios** (one click sets the sidebar):")
    cols = st.columns(len(SCENARIOS))
    for col, (title, values) in zip(cols, SCENARIOS.items()):
        col.button(title, key=f"scenario:{title}", on_click=apply_scenario, args=(values,),
                   width="stretch")
    config = ui.config_controls(BASE, SETTINGS_SHOWN,
                                limits={"dataset": {"choices": DATASETS_OFFERED}})
    run = ui.run_controls(config)
    st.caption(f"Effective learning rate: {config.lr:g} x {config.lr_multiplier:g} = "
               f"{config.effective_lr:g}; {config.depth} hidden layers of {config.width} "
               f"{config.activation} units; weights ~ N(0, {config.init_scale:g}^2 / fan_in).")

    def render(snap):
        if not snap.nets:
            st.info("Preparing the run...")
            return
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(gradient_profile_figure, snap, key="gr:profile")
        with c2:
            ui.explain(gradient_text(snap))
            ui.explain(profile_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(training_curves_figure, snap, key="gr:curves")
        with c2:
            ui.explain(accuracy_text(snap))
            ui.explain(lr_hint(snap))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(gradient_heatmap_figure, snap, key="gr:heatmap")
        with c2:
            ui.explain("Every weight matrix (rows, input at the bottom) at every probe "
                       "(columns); one colour scale for both nets, one step of colour = a "
                       "power of ten. A plain deep sigmoid net is dark at the bottom rows: those "
                       "layers get almost no error signal. **Try** the depth slider: 3 layers, "
                       "then 20.")
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(vanishing_ratio_figure, snap, key="gr:ratio")
        with c2:
            ui.explain("The first layer's gradient divided by the output layer's, over training: "
                       "1 (dotted) means the error signal reaches the bottom undiminished. "
                       "**Try** init scale 3, then 5, with the deep sigmoid net: larger weights "
                       "multiply the signal back up on its way down.")
        ui.export_controls(snap, "gradients")

    if run is not None:
        ui.live_view(run, render)
    ui.share_link()
