"""Gradients and learning rates (T5, T9): per-layer gradient norms with and without BN, depth
and init scale (vanishing and exploding gradients), learning-rate multipliers x1 / x5 / x30
(a diverged net shown as such), sigmoid vs ReLU."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS
from bn_core.figures.gradients import (
    gradient_heatmap_figure,
    gradient_profile_figure,
    training_curves_figure,
    vanishing_ratio_figure,
)
from bn_core.lessons import gradients as lesson
from bn_core.presets import lesson_setup, preset

# The default: a 10-layer sigmoid net on the MNIST subset (the BN-x5-Sigmoid analogue).
BASE = lesson_setup("gradients")
DATASETS_OFFERED = ("mnist-subset",) + TOY_DATASETS
SETTINGS_SHOWN = ["lr_multiplier", "activation", "depth", "width", "init", "init_scale", "lr",
                  "dataset", "steps", "seed"]
# One click sets several settings at once. The ReLU learning-rate scenarios are the presets
# lr-x1/x5/x30 (10 x 100 ReLU, He's init, base rate 0.08; measured by check-claims T9, T9b).
SCENARIO_FIELDS = ("activation", "depth", "width", "init", "init_scale", "lr", "lr_multiplier",
                   "dataset")


def preset_values(name: str) -> dict:
    config = preset(name).config
    return {field: getattr(config, field) for field in SCENARIO_FIELDS}


SCENARIOS = {
    "Deep sigmoid (vanishing gradients)": dict(
        activation="sigmoid", depth=10, width=64, init="default", init_scale=1.0, lr=0.1,
        lr_multiplier=1.0, dataset="mnist-subset"),
    "ReLU, learning rate x1": preset_values("lr-x1"),
    "ReLU, x5 (BN-x5)": preset_values("lr-x5"),
    "ReLU, x30 (BN-x30)": preset_values("lr-x30"),
    "Large init (exploding)": dict(
        activation="relu", depth=10, width=64, init="scaled", init_scale=3.0, lr=0.1,
        lr_multiplier=1.0, dataset="mnist-subset"),
}


def apply_scenario(values: dict) -> None:
    """Set the sidebar's run settings to a scenario's values (all on the widgets' grids)."""
    for name, value in values.items():
        ui.set_setting(name, value)


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
    st.caption("Measured on seeds 0-2 (docs/claims.md, T9): with the ReLU scenarios (10 x 100, "
               "He's init, base rate 0.1) both nets train at x1; at x5 and at x30 the plain net "
               "fails (its loss overflows, or it never leaves chance) while the BN net reaches "
               "94-96% held-out.")
    config = ui.config_controls(BASE, SETTINGS_SHOWN,
                                limits={"dataset": {"choices": DATASETS_OFFERED}})
    run = ui.run_controls(config)
    st.caption(lesson.caption(config))

    def render(snap):
        if not snap.nets:
            st.info("Preparing the run...")
            return
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(gradient_profile_figure, snap, key="gr:profile")
        with c2:
            ui.explain(lesson.gradient_text(snap))
            ui.explain(lesson.profile_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(training_curves_figure, snap, key="gr:curves")
        with c2:
            ui.explain(lesson.accuracy_text(snap))
            ui.explain(lesson.lr_hint(snap))
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
                       "**Try** the scaled init with scale 3, then 5, with the deep sigmoid net: "
                       "larger weights multiply the signal back up on its way down.")
        ui.export_controls(snap, "gradients")

    if run is not None:
        ui.live_view(run, render)
    ui.share_link()
