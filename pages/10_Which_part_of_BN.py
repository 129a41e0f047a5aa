"""Which part of BN does the work? Four twins from the same weights on the same batches: plain,
normalise only, scale and shift only, and BN, on the Figure 1 net or a deep sigmoid net."""
import streamlit as st

import bnlab_ui as ui
from bn_core.config import Setting
from bn_core.figures.which_part import part_accuracy_chart, part_bands_chart, part_loss_chart
from bn_core.i18n import N_, _
from bn_core.lessons import which_part

SETUPS = {"figure1": which_part.FIGURE1_PART, "deep-sigmoid": which_part.DEEP_SIGMOID_PART}
SETUP_LABELS = {"figure1": N_("Figure 1 net: 3 x 100 sigmoid"),
                "deep-sigmoid": N_("Deep sigmoid net: 10 x 64")}
FIELDS = ["lr", "batch_size", "steps", "seed"]
SETUP = Setting("setup", str, "figure1", N_("Net"), N_("The BN paper's Figure 1 net, or a "
                "10-layer sigmoid net where the plain net cannot train at all."),
                choices=tuple(SETUPS),
                url="setup")
STATE = "_which_part_setup"


def switch_setup() -> None:
    """A new net brings its own defaults: the run settings and the layer shown are reset."""
    setup = st.session_state.get(STATE)
    for name in FIELDS:
        ui.set_setting(name, getattr(SETUPS[setup], name))
    ui.set_setting("layer", SETUPS[setup].depth, view=True)


lesson = ui.Lesson(
    N_("Which part of BN does the work?"),
    N_("Four nets learn the same digits from the same weights on the same batches: plain, "
       "**normalise only** (gamma 1, beta 0, fixed), **scale and shift only** (learnable gamma "
       "and beta, nothing normalised) and full **BN**. Which part gives BN its head start?"),
    more=N_("BN does two things to every unit's input: it *normalises* it over the batch (zero "
            "mean, unit variance), then *scales and shifts* it with a learnt gamma and beta. One "
            "of the classic explanations of BN wonders whether the per-feature scale-and-shift, "
            "not the normalising, is what speeds training, and proposes to test it. This page is "
            "that test: each variant keeps one part. If a variant trains like BN, that part is "
            "doing the work; if it trains like the plain net, it is not.\n\n"
            "The sentences beside each chart are computed from the run you are watching, so they "
            "change with it. The deep sigmoid net (10 layers) is the hard case: without BN its "
            "gradients vanish."),
    icon=":material/call_split:")

with ui.guard(N_("the which-part page")):
    side = st.sidebar
    setup = lesson.views([SETUP], labels={"setup": SETUP_LABELS})["setup"]
    if st.session_state.get(STATE) not in (None, setup):
        st.session_state[STATE] = setup
        switch_setup()  # before the widgets below are drawn, so they show the new values
    st.session_state[STATE] = setup
    base = SETUPS[setup]
    config = lesson.settings(base, FIELDS)
    view = lesson.views([
        Setting("layer", int, base.depth, N_("Hidden layer shown"), lo=1, hi=base.depth,
                url="layer", help=N_("The layer whose input bands are drawn (the last by "
                                     "default, as in the paper). Changing it does not restart "
                                     "the run.")),
        Setting("pooled", bool, False, N_("All units of the layer pooled"), url="pooled",
                help=N_("Off: the probed unit, as in the paper's Figure 1. On: every unit.")),
    ])
    layer, pooled = min(view["layer"], config.depth) - 1, view["pooled"]
    run = lesson.run(config)

    def accuracy(snap, brief):
        if not snap.nets:
            st.info(_("Loading the digits and building the four nets..."))
            return
        topics = which_part.findings_by_topic(snap, layer, pooled)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(part_accuracy_chart, snap, key="part:acc")
        with c2:
            lines = topics["speed"]
            if brief:
                st.markdown(next(iter(topics["verdict"]), lines[0] if lines else ""))
                return
            st.markdown("\n\n".join(lines) or _("Waiting for the first evaluation..."))
            st.caption(_("**Look for** which dashed or dotted curve rises with BN's in the "
                         "first hundred steps. **Try** the deep sigmoid net (sidebar: Net)."))

    def loss(snap, brief):
        if not snap.nets:
            return
        topics = which_part.findings_by_topic(snap, layer, pooled)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(part_loss_chart, snap, key="part:loss")
        with c2:
            lines = topics["fit"]
            st.markdown(lines[-1] if brief and lines else "\n\n".join(lines))
            if not brief:
                st.caption(_("The loss each net descends, on its own training batches. "
                             "**Try** a smaller learning rate (0.1): which variants still keep "
                             "up?"))

    def bands(snap, brief):
        if not snap.nets:
            return
        topics = which_part.findings_by_topic(snap, layer, pooled)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(part_bands_chart, snap, layer, pooled, key="part:bands")
        with c2:
            lines = topics["bands"]
            st.markdown(lines[-1] if brief and lines else "\n\n".join(lines))
            if not brief:
                st.caption(_("Each panel: the 15th, 50th and 85th percentiles of what one "
                             "{activation} receives; orange zones: saturated, green: "
                             "near-linear. **Try** another layer, or all units pooled.").format(
                                 activation=snap.config.activation))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, f"which-part-{setup}")

    lesson.section(N_("Held-out accuracy"), accuracy,
                   say=N_("Which variant keeps up with BN: normalise only, or scale and shift "
                          "only?"))
    lesson.section(N_("Training loss"), loss,
                   say=N_("What do gamma and beta add once the input is normalised?"))
    lesson.section(N_("Percentile bands"), bands,
                   say=N_("Which part holds each unit's input still?"))
    lesson.live(run)
