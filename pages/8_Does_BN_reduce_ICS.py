"""Does BN really reduce internal covariate shift? (T13): Santurkar et al. 2018's gradient
measure of ICS for a plain, a BN and a noisy-BN net trained side by side, the loss-landscape
probes, and conclusions written from what the run measured."""
import streamlit as st

import bnlab_ui as ui
from bn_core.lessons import santurkar
from bn_core.config import SETTINGS, Setting
from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.ics import (
    ics_by_layer_figure,
    ics_over_time_figure,
    landscape_figure,
    training_loss_figure,
)
from bn_core.nets.probes import LANDSCAPE_STEP_SIZES
from bn_core.presets import lesson_setup

# Page-level setups. MNIST: the BN paper's 3 x 100 sigmoid net on the bundled subset at learning
# rate 0.5, where both nets train (at 0.1 the plain net sits on its starting plateau for most
# of the run, and a plateau looks smooth to the landscape probes); short enough to finish in
# seconds. Measured with `python -m bn_core check-claims` (T13): docs/claims.md.
MNIST_SETUP = lesson_setup("santurkar-mnist")
# Santurkar's 25-layer deep linear network (24 hidden + output), full-batch GD, at the preset's
# learning rate and length, probed more often.
DEEP_LINEAR_SETUP = lesson_setup("santurkar-deep-linear")
SETUPS = {"mnist-sigmoid": MNIST_SETUP, "deep-linear": DEEP_LINEAR_SETUP}
SETUP_TITLES = {"mnist-sigmoid": "MNIST, 3 x 100 sigmoid (BN paper's net)",
                "deep-linear": "25-layer deep linear network (Santurkar)"}
FIELDS = {"mnist-sigmoid": ["lr", "steps", "batch_size", "depth", "ics_every", "seed"],
          "deep-linear": ["lr", "steps", "depth", "ics_every", "seed"]}
ALL_FIELDS = sorted({f for fields in FIELDS.values() for f in fields})

VIEW = [
    Setting("setup", str, "mnist-sigmoid", "Setup", "Which experiment to run.",
            choices=tuple(SETUPS), url="setup"),
    Setting("noisy_bn", bool, True, "Noisy BN (BN + time-varying noise)",
            "Adds a third net: BN followed by a random shift and scale, new at every step.",
            url="noisy"),
    Setting("noisy_plain", bool, False, "The same noise in a plain net",
            "Adds a fourth net: the plain net with the same noise.", url="noisyplain"),
    Setting("metric", str, "cos", "ICS shown as", "cos(G, G') or the distance ||G - G'||.",
            choices=("cos", "dist"), url="metric"),
]


def nets_for(view: dict) -> tuple:
    return ("plain", "bn") + (("noisy_bn",) if view["noisy_bn"] else ()) + \
        (("noisy_plain",) if view["noisy_plain"] else ())


def switch_setup(setup: str) -> None:
    """A new setup brings its own defaults: reset the run settings to that setup's values."""
    previous = st.session_state.get("_ics_setup")
    if previous is not None and previous != setup:
        for name in FIELDS[setup]:
            ui.set_setting(name, getattr(SETUPS[setup], name))
            if SETTINGS[name].url in st.query_params:
                del st.query_params[SETTINGS[name].url]
    st.session_state["_ics_setup"] = setup


def ics_page_by_layer(snap, metric):
    return ics_by_layer_figure(snap.nets, metric)


def ics_page_over_time(snap, metric):
    return ics_over_time_figure(snap.nets, metric)


def ics_page_loss(snap):
    return training_loss_figure(snap.nets, snap.config.is_regression)


def ics_page_accuracy(snap):
    return accuracy_figure(snap.nets, "train_acc", "Training accuracy of each net (eval mode)")


def ics_page_landscape(snap):
    return landscape_figure(snap.nets)



ui.page_header(
    "Does BN really reduce internal covariate shift?", "T13",
    "Ioffe & Szegedy explained BN's success by a reduction of **internal covariate shift**: "
    "each layer's inputs stop moving under it. Santurkar et al. (2018) measured that shift "
    "directly, by what it does to learning: take a layer's gradient **G** on a batch, update "
    "the layers below it, and compute the gradient again on the same batch, **G'**. If the "
    "layers below did not shift its inputs, **G' = G**: cos(G, G') = 1 and ||G - G'|| = 0. "
    "They found BN does *not* reduce this shift, that BN with noise injected on purpose "
    "(**noisy BN**) still trains well, and argued BN helps by making the loss landscape "
    "smoother. Below, the nets train live from identical weights on identical batches: "
    "measure it yourself.")

with ui.guard("the ICS page"):
    view = ui.view_controls(VIEW)
    setup = view["setup"]
    switch_setup(setup)
    st.sidebar.caption(f"**{SETUP_TITLES[setup]}**")
    config = ui.config_controls(SETUPS[setup], FIELDS[setup])
    config = config.replace(nets=nets_for(view))
    ui.share_link()

    if setup == "deep-linear":
        st.info(
            f"**Setup: Santurkar's deep linear network.** {config.depth + 1} linear layers of "
            f"width {config.width} (no nonlinearity) learn y = A x for a random 10 x 10 matrix A, "
            f"with mean squared error and full-batch gradient descent ({config.batch_size} "
            f"examples). Each ICS measurement costs {config.depth + 3 + len(LANDSCAPE_STEP_SIZES)} "
            "extra forward and backward passes per net, so this run is slower: watch it fill "
            f"in. The default, learning rate {DEEP_LINEAR_SETUP.lr:g} for "
            f"{DEEP_LINEAR_SETUP.steps} steps, is BN Lab's choice (at 0.001 the nets barely "
            "separate in 400 steps).", icon=":material/linear_scale:")
    else:
        st.info(
            f"**Setup: MNIST, the BN paper's net.** {config.depth} hidden layers of "
            f"{config.width} sigmoid units, batches of {config.batch_size} from the bundled "
            f"4,000-digit subset, SGD at learning rate {config.lr:g}. Switch the setup in the "
            "sidebar to Santurkar's 25-layer deep linear network.", icon=":material/grid_on:")

    run = ui.run_controls(config)
    metric = view["metric"]
    metric_name = "cos(G, G')" if metric == "cos" else "||G - G'||"
    other_metric = "||G - G'||" if metric == "cos" else "cos(G, G')"

    def render(snap):
        if not snap.nets:
            st.info("Preparing the run...")
            return
        cfg = snap.config
        if cfg.ics_every == 0:
            st.warning("ICS measurement is off ('Measure ICS every' = 0): set it to 10-100 steps "
                       "to see the ICS charts.", icon=":material/visibility_off:")
        summaries = {n: santurkar.shift_summary(v) for n, v in snap.nets.items()}
        st.subheader("Internal covariate shift, measured by gradients")
        c1, c2 = st.columns(2)
        with c1:
            ui.chart(ics_page_by_layer, snap, metric, key="ics:layer")
        with c2:
            ui.chart(ics_page_over_time, snap, metric, key="ics:time")
        look_for = santurkar.ics_look_for(summaries)
        if look_for:
            ui.explain(look_for + f" **Try:** a larger learning rate (bigger updates, more "
                       f"shift), or show {other_metric} in the sidebar.")
        else:
            st.caption(f"The first {metric_name} measurement comes at step {cfg.ics_every}.")

        st.subheader("How well does each net train?")
        if cfg.is_regression:
            c1, c2 = st.columns([3, 2])
            with c1:
                ui.chart(ics_page_loss, snap, key="ics:loss")
            text_col = c2
        else:
            c1, c2 = st.columns(2)
            with c1:
                ui.chart(ics_page_loss, snap, key="ics:loss")
            with c2:
                ui.chart(ics_page_accuracy, snap, key="ics:acc")
            text_col = st.container()
        with text_col:
            ui.explain(santurkar.training_look_for(summaries, cfg.is_regression))

        st.subheader("Loss-landscape probes")
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(ics_page_landscape, snap, key="ics:scape")
        with c2:
            ui.explain(santurkar.landscape_explainer())

        st.subheader("What should you conclude?")
        sentences = santurkar.conclusions(snap.nets, classification=not cfg.is_regression,
                                          depth=cfg.depth)
        if sentences:
            st.markdown("\n".join(f"- {s}" for s in sentences))
            if snap.live:
                st.caption(f"Written from the measurements up to step {snap.step:,}; they "
                           "update as the run goes on.")
        else:
            st.caption("Conclusions appear after two ICS measurements of the plain and BN nets "
                       f"(every {cfg.ics_every or '-'} steps).")
        ui.export_controls(snap, f"ics-{setup}")

    if run is not None:
        ui.live_view(run, render)
