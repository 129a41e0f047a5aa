"""gamma and beta (T7): why BN scales and shifts after normalising. Learnable, frozen at slider
values, or set to undo the normalisation; what the sigmoid (or ReLU) sees; near-linear,
saturated and dead units; the learnt gamma and beta."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS, Setting
from bn_core.figures.activations import (activation_input_figure, affine_figure,
                                         heldout_accuracy_chart,
                                         zone_fraction_figure,
                                         zone_rule)
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.activations import (step_range)
from bn_core.lessons import gamma_beta as lesson
from bn_core.figures.figure1 import accuracy_figure
from bn_core.presets import lesson_setup

# The two moons with gamma frozen at 0.5 and beta at 0: every sigmoid input of the BN net sits in
# its near-linear zone (see bn_core/presets.py and docs/claims.md, T7).
BASE = lesson_setup("gamma-beta")
DATASETS_OFFERED = TOY_DATASETS + ("mnist-subset",)
SETTINGS_SHOWN = ["affine", "gamma_value", "beta_value", "activation", "dataset", "depth",
                  "width", "lr", "steps", "seed"]
METRIC = lesson.METRIC


def accuracy_chart(snap):
    """Held-out accuracy of both nets over the whole run's steps."""
    fig = accuracy_figure(snap.nets, METRIC, "Held-out accuracy of both nets", 320)
    return fig.update_xaxes(range=step_range(snap))


ui.page_header(
    "gamma and beta: why BN scales and shifts", "T7",
    "BN first normalises each unit's input over the batch to mean 0 and variance 1, then "
    "multiplies by **gamma** and adds **beta**. Why not stop after normalising? A sigmoid fed "
    "inputs of mean 0 and variance 1 works mostly in its **near-linear middle** (for a normal "
    "input, 95% of its outputs lie between 0.12 and 0.88), and every unit's threshold sits at "
    "the batch mean. Below, a plain net and a BN net train on the same batches. The BN net "
    "starts with gamma frozen at 0.5 and beta at 0, which squeezes every sigmoid input into "
    "that middle; choose how its gamma and beta behave and watch what its units see.")

with ui.guard("the gamma and beta page"):
    config = ui.config_controls(BASE, SETTINGS_SHOWN,
                                limits={"dataset": {"choices": DATASETS_OFFERED}})
    layer_setting = Setting(name="layer", kind=int, default=min(3, config.depth),
                            label="Layer shown", lo=1, hi=config.depth, url="layer",
                            help="Which hidden layer's nonlinearity input to draw.")
    layer = min(int(ui.view_controls([layer_setting])["layer"]), config.depth) - 1
    if config.affine != "frozen":
        st.sidebar.caption("The gamma and beta sliders act only when gamma and beta are frozen.")
    run = ui.run_controls(config)
    st.markdown(lesson.mode_sentence(config))

    def render(snap):
        if not snap.nets or snap.edges is None:
            st.info("Preparing the run...")
            return
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(activation_input_figure, snap, layer, key="gb:curve")
        with c2:
            ui.explain(lesson.layer_now(snap, layer))
            ui.explain(lesson.curve_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(zone_fraction_figure, snap, layer, key="gb:zones")
        with c2:
            ui.explain(f"The same layer over training ({zone_rule(snap.config.activation)}).")
            ui.explain(lesson.zones_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(heldout_accuracy_chart, snap, key="gb:acc")
        with c2:
            ui.explain(lesson.accuracy_text(snap))
        if snap.config.is_toy and snap.config.grid_resolution > 0:
            ui.chart(boundary_figure, snap, key="gb:boundary", show_test=False, height=380)
        if "bn" in snap.nets:
            c1, c2 = st.columns([3, 1])
            with c1:
                ui.chart(affine_figure, snap, layer, key="gb:affine")
            with c2:
                ui.explain(lesson.affine_text(snap, layer))
        ui.export_controls(snap, "gamma-beta")

    if run is not None:
        ui.live_view(run, render)
    ui.share_link()
