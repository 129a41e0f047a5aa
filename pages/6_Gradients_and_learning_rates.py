"""Gradients and learning rates (T5, T9): per-layer gradient norms with and without BN, depth
and init scale (vanishing and exploding gradients), learning-rate multipliers x1 / x5 / x30
(a diverged net shown as such), sigmoid vs ReLU."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS
from bn_core.i18n import N_, _
from bn_core.figures.gradients import (
    gradient_heatmap_figure,
    gradient_profile_figure,
    training_curves_figure,
    vanishing_ratio_figure,
)
from bn_core.lessons import gradients as text
from bn_core.presets import lesson_setup

# The default: a 10-layer sigmoid net on the MNIST subset (the BN-x5-Sigmoid analogue).
BASE = lesson_setup("gradients")
DATASETS_OFFERED = ("mnist-subset",) + TOY_DATASETS
SETTINGS_SHOWN = ["lr_multiplier", "activation", "depth", "width", "init", "init_scale", "lr",
                  "dataset", "steps", "seed"]
SCENARIOS = text.scenarios()  # one click sets several settings (tested: the effect each names)


def apply_scenario(values: dict) -> None:
    """Set the sidebar's run settings to a scenario's values (all on the widgets' grids)."""
    for name, value in values.items():
        ui.set_setting(name, value)


lesson = ui.Lesson(
    N_("Gradients and learning rates"),
    N_("Training sends an error signal from the output down through every layer: in a deep "
       "sigmoid net it shrinks at every layer (**vanishing gradients**); large weights blow it "
       "up (**exploding**). Twin nets, same start and batches, only BN differs: pick a "
       "scenario in the sidebar."),
    more=N_("A sigmoid's slope is at most 0.25, so in a plain sigmoid net the error signal "
            "shrinks at every layer it crosses: the lowest layers barely learn. Large weights "
            "can instead multiply it up. BN keeps each layer's input in the nonlinearity's "
            "responsive range and makes a layer's output independent of its weights' scale, "
            "which is why the BN paper could raise the learning rate 5x and 30x (BN-x5, "
            "BN-x30). With the ReLU scenarios (10 x 100, He's init, base rate 0.1), measured "
            "on seeds 0-2 over 2,000 steps: both nets train at x1; at x5 and x30 the plain net "
            "fails (its loss overflows, or it never leaves chance) while the BN net's held-out "
            "accuracy reaches 94-96%."))

with ui.guard(N_("the gradients page")):
    st.sidebar.header(_("Scenarios"))
    st.sidebar.caption(_("One click sets the settings below (the run length stays)."))
    for title, values in SCENARIOS.items():
        st.sidebar.button(_(title), key=f"scenario:{title}", on_click=apply_scenario,
                          args=(values,), width="stretch")
    st.sidebar.header(_("Settings"))
    config = lesson.settings(BASE, SETTINGS_SHOWN,
                             limits={"dataset": {"choices": DATASETS_OFFERED}})
    ui.share_link()
    run = lesson.run(config)

    def profile(snap, brief):
        if not snap.nets:
            st.info(_("Preparing the run..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(gradient_profile_figure, snap, 380, key="gr:profile")
        with c2:
            st.markdown(text.gradient_text(snap))
            exploding = text.explosion_text(snap)
            if exploding:
                st.markdown(exploding)
            if not brief:
                st.markdown(text.profile_hint(snap.config))
                st.caption(text.caption(snap.config))

    def curves(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(training_curves_figure, snap, key="gr:curves")
        with c2:
            st.markdown(text.accuracy_text(snap))
            st.markdown(text.lr_hint(snap))

    def heatmap(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(gradient_heatmap_figure, snap, key="gr:heatmap")
        with c2:
            st.markdown(_("Every weight matrix (rows, input at the bottom) at every probe "
                          "(columns), one colour scale for both nets; one step of colour = a "
                          "power of ten. **Look for** dark bottom rows (layers that get almost "
                          "no error signal) and bright ones (an exploding signal)."))
            if not brief:
                st.markdown(_("**Try** the depth slider: 3 layers, then 20."))

    def ratio(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(vanishing_ratio_figure, snap, key="gr:ratio")
        with c2:
            st.markdown(_("The first layer's gradient divided by the output layer's, over "
                          "training: 1 (dotted) means the error signal reaches the bottom "
                          "undiminished."))
            if not brief:
                st.markdown(_("**Try** the scaled init with scale 3, then 5, with the deep "
                              "sigmoid net: larger weights multiply the signal back up on its "
                              "way down."))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, "gradients")

    lesson.section(N_("Gradient size of each layer"), profile,
                   say=N_("How much error signal reaches each layer, with and without BN?"))
    lesson.section(N_("How each net learns"), curves, say=N_("Which net learns, at this rate?"))
    lesson.section(N_("Every layer at every probe"), heatmap,
                   say=N_("Dark rows get almost no signal; bright rows too much."))
    lesson.section(N_("Bottom vs top over training"), ratio,
                   say=N_("Does the signal reach the bottom layer, and does that change?"))
    lesson.live(run)
