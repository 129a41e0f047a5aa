"""gamma and beta: why BN scales and shifts after normalising. Learnable, frozen at slider values,
or set to undo the normalisation; what the sigmoid (or ReLU) sees; near-linear, saturated and
dead units; the learnt gamma and beta."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS, Setting
from bn_core.figures.activations import (activation_input_figure, affine_figure,
                                         heldout_accuracy_chart, zone_fraction_figure, zone_rule)
from bn_core.figures.boundaries import boundary_figure
from bn_core.i18n import N_, _
from bn_core.lessons import gamma_beta as gb
from bn_core.presets import lesson_setup

# The two moons with gamma frozen at 0.5 and beta at 0: every sigmoid input of the BN net sits in
# its near-linear zone (see bn_core/presets.py and docs/claims.md, T7).
BASE = lesson_setup("gamma-beta")
DATASETS_OFFERED = TOY_DATASETS + ("mnist-subset",)
RUN_SETTINGS = ["affine", "gamma_value", "beta_value", "activation", "dataset", "depth",
                "width", "lr", "steps", "seed"]

lesson = ui.Lesson(
    N_("gamma and beta"),
    N_("After normalising each unit's input to mean 0 and variance 1, BN scales it by **gamma** "
       "and shifts it by **beta**: why not stop at normalising? A plain and a BN net learn the "
       "same data; set the BN net's gamma and beta in the sidebar and watch what its units see."),
    more=N_("A sigmoid fed inputs of mean 0 and variance 1 works mostly in its **near-linear "
            "middle** (for a normal input, 95% of its outputs lie between 0.12 and 0.88), and "
            "every unit's threshold sits at the batch mean: a deep net of such units computes "
            "almost a straight-line function. gamma and beta give the net back the choice of "
            "where and how steeply each unit switches; gamma = sqrt(var) and beta = mean even "
            "undo the normalisation entirely. For a ReLU, gamma matters little (scaling its "
            "input scales its output), but with beta = 0 half of every unit's outputs are "
            "0.\n\nThis page's default: the two moons, a 3 x 32 sigmoid net, gamma frozen at 0.5 "
            "and beta at 0. Measured on it (seeds 0-2, docs/claims.md): the BN net ended at "
            "87-88% held-out with 98% or more of its top layer's inputs near-linear, against "
            "85-86% for the best straight-line boundary, while the plain net reached 100%; with "
            "learnable gamma and beta the BN net reached 100% too."),
    icon=":material/tune:")

with ui.guard(N_("the gamma and beta page")):
    config = lesson.settings(BASE, RUN_SETTINGS, limits={"dataset": {"choices": DATASETS_OFFERED}})
    if config.affine != "frozen":
        st.sidebar.caption(_("The gamma and beta sliders act only when gamma and beta are "
                             "frozen."))
    layer_setting = Setting(name="layer", kind=int, default=min(3, config.depth),
                            label=N_("Layer shown"), lo=1, hi=config.depth, url="layer",
                            help=N_("Which hidden layer's nonlinearity input to draw. Does not "
                                    "restart the run."))
    layer = min(int(lesson.views([layer_setting])["layer"]), config.depth) - 1
    ui.share_link()
    run = lesson.run(config)

    def curve(snap, brief):
        if not snap.nets or snap.edges is None:
            st.info(_("Preparing the run..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(activation_input_figure, snap, layer, key="gb:curve", height=280)
        with c2:
            st.markdown(gb.mode_sentence(snap.config))
            st.markdown(gb.layer_now(snap, layer))
            if not brief:
                st.markdown(gb.curve_hint(snap.config))

    def accuracy(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(heldout_accuracy_chart, snap, key="gb:acc", height=300)
        with c2:
            st.markdown(gb.accuracy_text(snap))
        if snap.config.is_toy and snap.config.grid_resolution > 0 and not brief:
            ui.chart(boundary_figure, snap, key="gb:boundary", show_test=False, height=340)

    def zones(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(zone_fraction_figure, snap, layer, key="gb:zones", height=300)
        with c2:
            st.markdown(gb.zones_reading(snap, layer))
            if not brief:
                st.caption(_("The same layer over training ({zones}).").format(
                    zones=zone_rule(snap.config.activation)))

    def affine(snap, brief):
        if not snap.nets:
            return
        if "bn" in snap.nets:
            c1, c2 = st.columns([3, 2])
            with c1:
                ui.chart(affine_figure, snap, layer, key="gb:affine", height=320)
            with c2:
                st.markdown(gb.affine_text(snap, layer))
        with st.expander(_("Export this run")):
            ui.export_controls(snap, "gamma-beta")

    lesson.section(N_("What the nonlinearity sees"), curve,
                   say=N_("Where on the curve do the BN net's inputs fall?"))
    lesson.section(N_("Held-out accuracy and decision boundaries"), accuracy,
                   say=N_("Can a net whose units are all near-linear bend its boundary?"))
    lesson.section(N_("Inputs in each zone over training"), zones,
                   say=N_("How much of each net's input sits in each zone?"))
    lesson.section(N_("The BN net's gamma and beta"), affine,
                   say=N_("What did the net do with gamma and beta?"))
    lesson.live(run)
