"""Internal covariate shift: every hidden layer's nonlinearity input, as a histogram over training
steps, for a plain and a BN net; each layer's mean and variance drift; and what BN normalises
when it sits before or after the activation."""

import streamlit as st

import bnlab_ui as ui
from bn_core.config import SETTINGS, TOY_DATASETS, Setting
from bn_core.data.mnist import available_sources
from bn_core.figures.style import net_label
from bn_core.i18n import N_, _
from bn_core.figures.distributions import (bn_input_figure, input_histogram_heatmaps,
                                           moment_drift_figure)
from bn_core.lessons.distributions import (bn_input_text, depth_drift_reading,
                                           largest_drift_text, layer_drift_reading,
                                           layer_moments_text, layers_to_show,
                                           placement_reading, start_variance_text)
from bn_core.presets import lesson_setup

# A ReLU net of depth 4 on the MNIST subset with He's init: the plain net's upper layers see
# their input's variance grow many-fold in a few thousand steps (23-56x at the top, seeds 0-2:
# docs/claims.md); the BN net's stays near 1. With ReLU, moving BN after the activation shows
# what BN then receives: half of it is exactly 0.
BASE = lesson_setup("internal-covariate-shift")
RUN_SETTINGS = ["dataset", "activation", "placement", "depth", "lr", "batch_size", "steps",
                "init", "init_scale"]
TOY_PACE = 200.0  # steps/s on 2-D data: a 3,000-step run lasts 15 s, long enough to watch
SHOWN_LAYERS = 6
VIEW = [Setting(name="layer", kind=int, default=BASE.depth, label=N_("Layer in the heatmaps"),
                lo=1, hi=SETTINGS["depth"].hi, url="layer",
                help=N_("Which hidden layer's input the heatmaps show (1 = closest to the "
                        "data). Does not restart the run."))]

lesson = ui.Lesson(
    N_("Internal covariate shift"),
    N_("A layer's input is the output of the layers below, which change at every step, so what "
       "it sees keeps moving: *internal covariate shift*. A plain and a **BN** net train here "
       "from the same weights on the same batches; the charts follow each layer's input."),
    more=N_("Ioffe and Szegedy named internal covariate shift the change in the distribution of "
            "a layer's inputs during training, caused by the changing parameters of the layers "
            "below. BN normalises each unit's input over the mini-batch (mean 0, variance 1, "
            "then gamma and beta), so the distribution a layer sees stays put however the layers "
            "below change. *Where* BN sits decides what it normalises: before the activation "
            "(the paper's choice) it sees linear outputs, roughly symmetric and bell-shaped; "
            "after a ReLU it sees half a distribution cut to 0.\n\nThis page's default: a 4 x 100 "
            "ReLU net on the MNIST subset with He's initial weights, so the plain net's layers "
            "start at comparable variances. Measured on it (seeds 0-2, docs/claims.md): the "
            "plain net's most-drifting layer's variance grew 23-56-fold in 3,000 steps, the BN "
            "net's at most 1.27-fold; BN after the ReLU received at least 41% of its values in "
            "the bin at 0 in every layer."),
    icon=":material/waves:")

with ui.guard(N_("the internal covariate shift page")):
    side = st.sidebar
    side.header(_("Run settings"))
    present = [s for s, folder in available_sources().items() if folder]
    config = lesson.settings(BASE, RUN_SETTINGS, container=side,
                             limits={"dataset": {"choices": tuple(present + list(TOY_DATASETS))}})
    config = config.replace(pace=TOY_PACE if config.is_toy else 0.0)
    side.header(_("What to show"))
    view = lesson.views(VIEW, container=side)
    ui.share_link()
    layer = min(view["layer"], config.depth) - 1
    if view["layer"] > config.depth:
        side.info(_("The net has {depth} hidden layers; showing layer {depth}.").format(
            depth=config.depth))
    run = lesson.run(config)

    def heatmaps(snap, brief):
        if not snap.nets:
            st.info(_("Loading the data and building the twin nets..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(input_histogram_heatmaps, snap, layer, key="ics:heat", height=270)
        with c2:
            reading = layer_drift_reading(snap, layer)
            if brief:
                st.markdown(reading)
                return
            st.markdown(layer_moments_text(snap, layer))
            st.markdown(reading)
            st.caption(_("Each column is one moment of training; a stronger colour means more "
                         "of the layer's values fall there."))
            st.markdown(_("**Try** layer 1 against the top layer, a sigmoid net, or BN "
                          "placement *after*."))

    def moments(snap, brief):
        if not snap.nets:
            return
        cfg = snap.config
        shown = layers_to_show(cfg.depth, SHOWN_LAYERS)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(moment_drift_figure, snap, shown, key="ics:moments", height=360)
        with c2:
            reading = depth_drift_reading(snap)
            if brief:
                st.markdown(reading)
                return
            st.markdown(largest_drift_text(snap))
            st.markdown(reading)
            start = start_variance_text(snap)
            if start:
                st.markdown(start)
            n_probe = min(cfg.heldout_size, len(snap.data.x_heldout)) if snap.data else \
                cfg.heldout_size
            st.caption(_("Pooled over every unit of the layer and {n:,} held-out probe "
                         "examples.").format(n=n_probe)
                       + (_(" {shown} of the {depth} layers are drawn.").format(
                           shown=len(shown), depth=cfg.depth) if len(shown) < cfg.depth else ""))
            st.markdown(_("**Try** more hidden layers (6-8) and watch the top ones."))

    def bn_sees(snap, brief):
        if not snap.nets:
            return
        cfg = snap.config
        shown = layers_to_show(cfg.depth, SHOWN_LAYERS)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(bn_input_figure, snap, shown, key="ics:bn", height=300)
        with c2:
            reading = placement_reading(snap, shown)
            if brief:
                st.markdown(reading)
                return
            seen = bn_input_text(snap, shown)
            if seen:
                st.markdown(seen)
            st.markdown(reading)
            accs = [f"{net_label(n)} {float(v.evals['heldout_acc'][-1]):.0%}"
                    for n, v in snap.nets.items() if len(v.evals.get("step", ())) > 0]
            if accs:
                st.caption(_("Held-out accuracy now: {accuracies}. Which placement trains "
                             "better is an empirical question: compare the two runs.").format(
                                 accuracies=_(", ").join(accs)))
            st.markdown(_("**Try** *BN placement: after* with the ReLU activation.")
                        if cfg.placement == "before" else
                        _("**Try** *BN placement: before* to compare."))
        with st.expander(_("Export this run")):
            ui.export_controls(snap, "internal-covariate-shift")

    lesson.section(N_("Layer input over training"), heatmaps,
                   say=N_("Watch the plain net's column: does it slide and widen as training "
                          "goes on?"))
    lesson.section(N_("Every layer's mean and variance"), moments,
                   say=N_("Which layers move most: the bottom or the top?"))
    lesson.section(N_("What BN sees: before or after the activation"), bn_sees,
                   say=N_("What does BN have to normalise, before and after the ReLU?"))
    lesson.live(run)
