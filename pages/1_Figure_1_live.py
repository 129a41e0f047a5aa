"""Figure 1, live: the BN paper's MNIST experiment, a plain and a BN net trained side by side on
the same batches from the same weights: held-out accuracy (a) and the 15/50/85th percentile
bands of a sigmoid's input (b, c)."""
import streamlit as st

import bnlab_ui as ui
from bnlab_ui import language
from bn_core.config import Setting
from bn_core.i18n import N_, _
from bn_core.data.mnist import available_sources, source_folder
from bn_core.figures.figure1_page import MARK_STEP, heldout_accuracy_chart, percentile_bands_chart
from bn_core.lessons import figure1 as fig1
from bn_core.nets.zones import LINEAR_ZONE, SATURATION_THRESHOLD
from bn_core.presets import PRESETS, lesson_setup

PAPER = PRESETS["figure1"]
# The paper's net and batch; a few thousand steps (not 50,000) so a run takes seconds, probed
# often enough to show the first few hundred steps, where the nets differ most.
BASE = lesson_setup("figure1")
PAPER_STEPS = PAPER.config.steps
RUN_SETTINGS = ["dataset", "binarize", "steps", "lr", "lr_multiplier", "batch_size",
                "activation", "init", "init_scale", "percentiles", "probe_unit"]
DATA_NAMES = {"mnist-subset": N_("MNIST: bundled 5,000-digit subset"),
              "mnist": N_("MNIST: full 60,000 digits"),
              "fashion-mnist": N_("Fashion-MNIST: 60,000 clothing images")}
MISSING = {"mnist": N_("{data} is not on this server: put the four MNIST IDX files in {folder} "
                       "(or set BNLAB_MNIST_DIR)."),
           "fashion-mnist": N_("{data} is not on this server: install Debian's "
                               "dataset-fashion-mnist (or set BNLAB_FASHION_MNIST_DIR).")}
# The preset's words for BN Lab's own choices (bn_core/presets.py), marked so they are translated.
PAPER_CHOICES = N_("plain SGD, learning rate 0.5, no momentum, W ~ N(0, 1/fan_in), biases 0; "
                   "the bundled 5,000-digit MNIST subset (4,000 train / 1,000 held out), "
                   "grey-level pixels.")
VIEW = [
    Setting(name="layer", kind=int, default=BASE.depth, label=N_("Hidden layer shown"), lo=1,
            hi=BASE.depth, url="layer",
            help=N_("The paper shows the last hidden layer (3). Changing it does not restart "
                    "the run.")),
    Setting(name="pooled", kind=bool, default=False, label=N_("All units of the layer pooled"),
            url="pooled", help=N_("Off: the one probed unit, as in the paper. On: every unit "
                                  "of the layer together.")),
]
CHART_HEIGHT = 300

MORE = N_("Ioffe and Szegedy (2015), section 4.1: Figure 1 shows (a) the BN net learning faster "
          "and reaching higher accuracy, and (b, c) the input of a typical last-layer sigmoid "
          "over training: without BN its percentiles change a lot in mean and spread, with BN "
          "they are much more stable. Every difference you see here is BN's: both nets start "
          "from identical weights and see identical batches.\n\n"
          "BN Lab's choices where the paper is silent: {choices} This page trains {steps:,} "
          "steps by default (the paper: {paper_steps:,}); the early steps are where the two "
          "nets differ most. Measured on the defaults (seeds 0-2, docs/claims.md): at step 300 "
          "the BN net was at 89-90% held-out, the plain net at 40-51%; over 3,000 steps the "
          "unit's median wandered over 0.32-0.39 with BN and 1.18-1.76 without.")

language.setup()  # the page's language, before `MORE` is filled in (the frame does it again)
lesson = ui.Lesson(
    N_("Figure 1, live"),
    N_("The BN paper's first experiment, trained now: two 3 x 100 sigmoid nets learn MNIST "
       "digits from the same weights on the same batches, one plain, one with **BN** before "
       "every sigmoid. (a) is their held-out accuracy; (b, c) percentiles of one last-layer "
       "sigmoid's input."),
    more=_(MORE).format(choices=_(PAPER.notes.split("chosen by BN Lab: ")[-1]),
                        steps=BASE.steps, paper_steps=PAPER_STEPS),
    icon=":material/show_chart:")

with ui.guard(N_("the Figure 1 page")):
    side = st.sidebar
    side.header(_("Run settings"))
    sources = available_sources()
    present = [s for s, folder in sources.items() if folder]
    for source, folder in sources.items():
        if folder is None:
            side.caption(_(MISSING[source]).format(data=_(DATA_NAMES[source]),
                                                   folder=source_folder(source)))
    config = lesson.settings(BASE, RUN_SETTINGS, container=side,
                             limits={"dataset": {"choices": tuple(present)},
                                     "probe_unit": {"hi": BASE.width - 1}})
    long_run = fig1.paper_length_caption(config, BASE)
    side.button(_("Paper length: {steps:,} steps").format(steps=PAPER_STEPS),
                icon=":material/history_edu:", disabled=config.steps == PAPER_STEPS,
                help=_("The paper trained 50,000 steps; the charts fill in as the run goes.")
                     + " " + long_run,
                on_click=lambda: ui.set_setting("steps", PAPER_STEPS))
    side.caption(long_run)
    side.header(_("What to show"))
    view = lesson.views(VIEW, container=side)
    layer, pooled = view["layer"] - 1, view["pooled"]
    ui.share_link()
    run = lesson.run(config)

    def accuracy(snap, brief):
        if not snap.nets:
            st.info(_("Loading the images and building the twin nets..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(heldout_accuracy_chart, snap, key="fig1:acc", height=CHART_HEIGHT)
        with c2:
            if brief:
                st.markdown(fig1.accuracy_reading(snap, MARK_STEP, limit=1))
                return
            st.markdown(fig1.accuracy_text(snap, MARK_STEP))
            st.markdown(fig1.accuracy_reading(snap, MARK_STEP))
            st.markdown(fig1.try_next(snap.config, BASE))

    def bands(snap, brief):
        if not snap.nets:
            return
        act = snap.config.activation
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(percentile_bands_chart, snap, layer, pooled, key="fig1:bands",
                     height=CHART_HEIGHT + 40)
        with c2:
            reading = fig1.band_reading(snap, layer, pooled)
            if brief:
                st.markdown(reading)
                return
            st.markdown(fig1.band_text(snap, layer, pooled))
            st.markdown(reading)
            if act in SATURATION_THRESHOLD:
                st.caption(_("Shaded orange: where the {activation} saturates (|input| > "
                             "{saturated:g}, slope nearly 0); pale green: its near-linear zone "
                             "(|input| < {linear:g}).").format(
                                 activation=act, saturated=SATURATION_THRESHOLD[act],
                                 linear=LINEAR_ZONE[act]))
            st.markdown(_("**Try** another layer or unit, *All units pooled*, or other "
                          "percentiles (e.g. 5,50,95) in the sidebar."))
        with st.expander(_("Export this run")):
            ui.export_controls(snap, "figure1")

    lesson.section(N_("(a) Held-out accuracy"), accuracy,
                   say=N_("Watch the first 300 steps: which net learns first?"))
    lesson.section(N_("(b, c) The input of one last-layer sigmoid"), bands,
                   say=N_("Watch how far each net's band moves while the layers below learn."))
    lesson.live(run)
