"""Does BN really reduce internal covariate shift? (Santurkar et al. 2018): the gradient measure
of ICS for a plain, a BN and a noisy-BN net trained side by side, how well each trains, the
loss-landscape probes, and conclusions written from what the run measured."""
import streamlit as st

import bnlab_ui as ui
from bn_core.config import SETTINGS, Setting
from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.ics import (
    ics_by_layer_figure,
    ics_over_time_figure,
    landscape_figure,
    training_loss_figure,
)
from bn_core.i18n import N_, _
from bn_core.lessons import santurkar
from bn_core.lessons import santurkar_sections as words
from bn_core.presets import lesson_setup

# MNIST: the BN paper's 3 x 100 sigmoid net on the bundled subset at learning rate 0.5, where
# both nets train (at 0.1 the plain net sits on its starting plateau for most of the run, and a
# plateau looks smooth to the landscape probes). Santurkar's 25-layer deep linear network:
# full-batch GD, probed more often. Measured with `python -m bn_core check-claims` (T13).
SETUPS = {"mnist-sigmoid": lesson_setup("santurkar-mnist"),
          "deep-linear": lesson_setup("santurkar-deep-linear")}
FIELDS = {"mnist-sigmoid": ["lr", "steps", "batch_size", "depth", "ics_every", "seed"],
          "deep-linear": ["lr", "steps", "depth", "ics_every", "seed"]}

VIEW = [
    Setting("setup", str, "mnist-sigmoid", N_("Setup"), N_("Which experiment to run."),
            choices=tuple(SETUPS), url="setup"),
    Setting("noisy_bn", bool, True, N_("Noisy BN (BN + time-varying noise)"),
            N_("Adds a third net: BN followed by a random shift and scale, new at every step."),
            url="noisy"),
    Setting("noisy_plain", bool, False, N_("The same noise in a plain net"),
            N_("Adds a fourth net: the plain net with the same noise."), url="noisyplain"),
    Setting("metric", str, "cos", N_("ICS shown as"), N_("cos(G, G') or the distance ||G - G'||."),
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
    return ics_by_layer_figure(snap.nets, metric, height=340)


def ics_page_over_time(snap, metric):
    return ics_over_time_figure(snap.nets, metric, height=340)


def ics_page_loss(snap):
    return training_loss_figure(snap.nets, snap.config.is_regression, height=320)


def ics_page_accuracy(snap):
    return accuracy_figure(snap.nets, "train_acc", N_("Training accuracy (eval mode)"), 320)


def ics_page_landscape(snap):
    return landscape_figure(snap.nets, height=300)


lesson = ui.Lesson(
    N_("Does BN really reduce internal covariate shift?"),
    N_("Ioffe & Szegedy credited BN's success to less **internal covariate shift**; Santurkar et "
    "al. (2018) measured that shift by how much a layer's gradient changes when the layers "
    "below it update, and found BN does not reduce it. Measure it yourself: the nets below "
    "train from the same weights on the same batches."),
    more=N_("The measure: take layer i's gradient **G** on a batch, update the layers below it, "
         "and compute the gradient again on the same batch, **G'**. If the layers below did not "
         "shift layer i's inputs, G' = G: cos(G, G') = 1 and ||G - G'|| = 0. Santurkar et al. "
         "found that BN does *not* reduce this shift, that BN with noise injected on purpose "
         "after every BN layer (**noisy BN**: a random shift and scale, new at every step) "
         "still trains well, and argued that BN helps by making the loss landscape smoother: "
         "the last charts probe it along the gradient. Two setups: the BN paper's MNIST net, "
         "and Santurkar's 25-layer deep linear network (choose in the sidebar)."),
    icon=":material/query_stats:")

with ui.guard(N_("the ICS page")):
    view = lesson.views(VIEW, choice_labels={"setup": words.SETUP_LABELS,
                                             "metric": words.METRIC_LABELS})
    setup, metric = view["setup"], view["metric"]
    switch_setup(setup)
    config = lesson.settings(SETUPS[setup], FIELDS[setup]).replace(nets=nets_for(view))
    st.sidebar.caption(words.setup_caption(setup, config))
    run = lesson.run(config)

    def summaries(snap) -> dict:
        return {n: santurkar.shift_summary(v) for n, v in snap.nets.items()}

    def draw_ics_by_layer(snap, brief):
        if snap.config.ics_every == 0:
            st.warning(_("ICS measurement is off ('Measure ICS every' = 0): set it to 10-100 "
                         "steps to see the ICS charts."), icon=":material/visibility_off:")
        if not snap.nets:
            st.info(_("Preparing the run..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(ics_page_by_layer, snap, metric, key="ics:layer")
        with c2:
            text = words.ics_layer_look_for(summaries(snap), metric)
            if text is None:
                st.caption(_("The first measurement comes at step {step:,}.").format(
                    step=snap.config.ics_every))
            elif not brief:
                st.markdown(text)

    def draw_ics_over_time(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(ics_page_over_time, snap, metric, key="ics:time")
        with c2:
            text = words.ics_time_look_for(summaries(snap), metric, snap.config.ics_every)
            if text and not brief:
                st.markdown(text)

    def draw_training(snap, brief):
        if not snap.nets:
            return
        if snap.config.is_regression:
            c1, c2 = st.columns([3, 2])
            with c1:
                ui.chart(ics_page_loss, snap, key="ics:loss")
            text_place = c2
        else:
            c1, c2 = st.columns(2)
            with c1:
                ui.chart(ics_page_loss, snap, key="ics:loss")
            with c2:
                ui.chart(ics_page_accuracy, snap, key="ics:acc")
            text_place = st.container()
        if not brief:
            with text_place:
                st.markdown(words.training_look_for(summaries(snap), snap.config.is_regression))

    def draw_landscape(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([2, 1])
        with c1:
            ui.chart(ics_page_landscape, snap, key="ics:scape")
        with c2:
            if not brief:
                st.markdown(words.landscape_look_for(summaries(snap)))

    def draw_conclusions(snap, brief):
        if not snap.nets:
            return
        cfg = snap.config
        sentences = santurkar.conclusions(snap.nets, classification=not cfg.is_regression,
                                          depth=cfg.depth)
        if sentences:
            st.markdown("\n".join(f"- {s}" for s in (sentences[:2] if brief else sentences)))
            if snap.live:
                st.caption(_("Written from the measurements up to step {step:,}; they update "
                             "as the run goes on.").format(step=snap.step))
        else:
            st.caption(_("Conclusions appear after two ICS measurements of the plain and BN nets "
                         "(every {every} steps).").format(every=cfg.ics_every or "-"))
        if not brief:
            with st.expander(_("Export this run"), icon=":material/download:"):
                ui.export_controls(snap, f"ics-{setup}")

    lesson.section(N_("Internal covariate shift, layer by layer"), draw_ics_by_layer,
                   say=N_("If BN reduced internal covariate shift, its cosine would sit above "
                          "the plain net's."))
    lesson.section(N_("Internal covariate shift over training"), draw_ics_over_time,
                   say=N_("Watch whether BN's line stays above the plain net's."))
    lesson.section(N_("How well does each net train?"), draw_training,
                   say=N_("The net with more shift can still train better."))
    lesson.section(N_("Loss-landscape probes"), draw_landscape,
                   say=N_("Lower means a smoother landscape along the gradient."))
    lesson.section(N_("What should you conclude?"), draw_conclusions,
                   say=N_("Conclusions written from this run's measurements."))
    lesson.live(run)
