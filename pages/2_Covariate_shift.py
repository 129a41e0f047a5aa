"""Covariate shift and decision boundaries (T1, T2): a boundary learnt on training data meets
moved test data (re-scored at once, no retraining); data far from the origin trained with and
without input whitening."""
import dataclasses
import threading
from collections import OrderedDict

import streamlit as st

import bnlab_ui as ui
from bn_core.config import Setting, setting_for
from bn_core.i18n import N_, _
from bn_core.figures.shift import (current_boundaries_chart, decision_regions_chart,
                                   initial_boundaries_chart, shift_sweep_chart,
                                   train_test_accuracy_chart, whitening_accuracy_chart)
from bn_core.lessons import covariate_shift as text
from bn_core.lessons.covariate_shift import TEST_ONLY, rescore, training_config, whitening_name
from bn_core.markdown import url_value
from bn_core.presets import lesson_setup
from bnlab_ui import charts, classroom

SHIFT_BASE = lesson_setup("covariate-shift")
WHITE_BASE = lesson_setup("whitening")
TRAIN_SETTINGS = ["dataset", "n_samples", "noise"]
WHITE_SETTINGS = ["dataset", "n_samples", "noise", "far_offset", "whitening"]
# The test shift only moves the test points: shown at once from the recorded nets, never a new
# run (the table's settings, as view settings: same URL keys, so old links keep working).
TEST_VIEWS = [dataclasses.replace(setting_for(name, SHIFT_BASE.nets),
                                  default=getattr(SHIFT_BASE, name)) for name in TEST_ONLY]
TARGET = Setting(name="target", kind=float, default=0.9, label=N_("Target training accuracy"),
                 lo=0.5, hi=1.0, url="target",
                 help=N_("Steps to reach it are counted for each net. Changing it does not "
                         "restart the runs."))
PARTS = {"shift": N_("Move the test data"), "whitening": N_("Data far from the origin")}
PART_URL, DEFAULT_PART = "part", "shift"
# the part selector is a URL-bound view widget (its key from ui.widget_key): a student following
# the teacher has it redrawn from the class's URL (bnlab_ui.classroom forgets such widgets when
# it applies the class's); keyed by a name of its own, as it is read before the page has its title
PART_NOTICE = "covshift:part_notice"
INTRO = {
    "shift": N_("A plain and a BN net learn to separate two classes of 2-D points (circles); "
                "the test points (crosses) are then moved, rotated or rescaled. Move them with "
                "the *Test* sliders in the sidebar: the charts change at once, nothing "
                "retrains."),
    "whitening": N_("The same points, moved far from the origin: a net's random first "
                    "boundaries (bias 0) pass through the origin and miss the data. Two runs, "
                    "the inputs whitened and not, show how many steps that costs."),
}
MORE = N_(
    "A network learns the distribution of its **training** data. **Move the test data** keeps "
    "the nets as they trained and moves only the test points (about the training data's "
    "centre): a boundary that is right for the training points is wrong for many of the moved "
    "ones, and test accuracy falls while training accuracy stays high. That change of the "
    "input distribution between training and use is **covariate shift**; Ioffe and Szegedy "
    "named *internal* covariate shift after it: the same thing happening to the inputs of a "
    "network's inner layers while the layers below them learn.\n\n"
    "**Data far from the origin** puts all the data far from (0, 0). Every first-layer unit "
    "starts as a line through the origin of what the net sees (its bias is 0), so without "
    "**whitening** (zero mean, unit variance, decorrelated inputs) almost no line cuts the "
    "data and the first steps go into dragging the boundaries out to it. BN subtracts each "
    "unit's batch mean: a per-unit centring done inside the net.")


# ---------------------------------------------------------------------------- the part shown

def part_key() -> str:
    return ui.widget_key("view", "part", page="covshift")


def current_part() -> str:
    """The part of the lesson shown: the selector's state, else the URL's part=shift|whitening
    (a bad value is kept as a notice until the student picks a part)."""
    key = part_key()
    if key not in st.session_state:
        raw = st.query_params.get(PART_URL, DEFAULT_PART)
        st.session_state[PART_NOTICE] = None
        if raw not in PARTS:
            st.session_state[PART_NOTICE] = raw  # said in the session's language when shown
            raw = DEFAULT_PART
        st.session_state[key] = raw
    return st.session_state[key] or DEFAULT_PART


def part_selector() -> str:
    raw = st.session_state.get(PART_NOTICE)
    if raw is not None:
        st.warning(_("{value} is not valid (one of {choices}); showing {part}.").format(
            value=url_value(PART_URL, raw), choices=", ".join(PARTS),
            part=_(PARTS[DEFAULT_PART])), icon=":material/link_off:")
    part = st.segmented_control(_("Part of the lesson"), list(PARTS),
                                format_func=lambda p: _(PARTS[p]),
                                required=True, label_visibility="collapsed",
                                key=part_key(),
                                on_change=lambda: st.session_state.update({PART_NOTICE: None})
                                ) or DEFAULT_PART
    if part == DEFAULT_PART:
        if PART_URL in st.query_params:
            del st.query_params[PART_URL]
    elif st.query_params.get(PART_URL) != part:
        st.query_params[PART_URL] = part
    classroom.republish()  # the teacher's part is the class's
    return part


# ---------------------------------------------------------------------------- move the test data

def regions_chart(snap, height: int = 430):
    return decision_regions_chart(snap, True, height)


def shift_part(lesson) -> None:
    st.sidebar.header(_("Test data: shown at once"))
    test = lesson.views(TEST_VIEWS)
    st.sidebar.caption(_("These move only the test points: the nets are re-scored on them, "
                         "nothing retrains."))
    st.sidebar.header(_("Training data: a new run"))
    config = lesson.settings(SHIFT_BASE, TRAIN_SETTINGS)
    ui.share_link()
    run = lesson.run(training_config(config))
    shift = tuple(test[name] for name in TEST_ONLY)

    def regions(snap, brief):
        if not snap.nets or snap.data is None:
            st.info(_("Preparing the data and the twin nets..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            # the projector view: a little shorter, so the whole chart is on the first screen
            ui.chart(regions_chart, snap, 360 if brief else 430, key="shift:boundary")
        with c2:
            if brief:
                st.markdown(text.shift_verdict(snap))
                return
            st.markdown(_(
                "**Look for** the boundary (solid line) bending around the training points "
                "(circles) as the nets learn, and where the test points (crosses, same colour = "
                "same class) fall: here they are **{where}**.").format(
                    where=text.shift_words(snap.config)))
            st.markdown(text.shift_verdict(snap))
            st.markdown(_("**Try** *Test rotation* 90, *Test shift x* 0 or *Test scale* 2 in "
                          "the sidebar: the crosses move at once."))

    def accuracy(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(train_test_accuracy_chart, snap, 380, key="shift:acc")
        with c2:
            st.markdown(text.accuracy_rows(snap))
            if not brief:
                st.markdown(_("**Look for** the gap between the solid lines (training data) "
                              "and the dotted ones (moved test data). Held-out points from the "
                              "*training* distribution score like the training data: the nets "
                              "did learn, just not the test distribution."))

    def sweep(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(shift_sweep_chart, snap, key="shift:sweep")
        with c2:
            st.markdown(text.sweep_rows(snap))
            if not brief:
                st.markdown(_("The same boundary, scored on the test points moved {shares} of "
                              "your shift. **Look for** accuracy falling as the test "
                              "distribution drifts further from the training one.").format(
                                  shares="0 %, 10 %, ... 100 %"))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, "covariate-shift")

    lesson.section(N_("Decision regions"), regions,
                   say=N_("Where do the moved test points fall, against a boundary learnt on "
                          "the circles?"))
    lesson.section(N_("Training vs moved test data"), accuracy,
                   say=N_("Compare the solid lines (training data) with the dotted ones (moved "
                          "test data)."))
    lesson.section(N_("Moving the test data part of the way"), sweep,
                   say=N_("The same boundary, as the test data drifts further and further."))
    lesson.live(run, shown=lambda snap: rescore(snap, *shift))


# ---------------------------------------------------------------------------- whitening

def pair_chart(builder, snaps: list, *args, key: str) -> None:
    """`ui.chart` for a builder of several runs' snapshots: cached per step of every run."""
    others = snaps[1:]
    token = tuple((hash(s.key), s.step, s.status, tuple(v.step for v in s.nets.values()))
                  for s in others)

    def build(first, name, token, *args):
        return builder([first] + others, *args)

    ui.chart(build, snaps[0], builder.__name__, token, *args, key=key)


_INITIAL = OrderedDict()  # (run keys, chart theme) -> prepared figure: it never changes
_INITIAL_LOCK = threading.Lock()


def initial_chart(snaps: list, key: str) -> None:
    """The initial boundaries depend only on how the runs start: built once per pair of runs
    and chart theme (for all viewers), not at every refresh like the live charts."""
    token = (tuple(s.key for s in snaps), charts.chart_theme())
    with _INITIAL_LOCK:
        fig = _INITIAL.get(token)
    if fig is None:
        fig = charts.prepare(initial_boundaries_chart(snaps, height=440), token[1])
        if all(v.initial_grid is not None for s in snaps for v in s.nets.values()):
            with _INITIAL_LOCK:
                _INITIAL[token] = fig
                while len(_INITIAL) > 32:
                    _INITIAL.popitem(last=False)
    charts.show_figure(fig, key=key)


def whitening_part(lesson) -> None:
    st.sidebar.header(_("Data far from the origin"))
    config = lesson.settings(WHITE_BASE, WHITE_SETTINGS,
                             labels={"whitening": N_("Whitening (compared with none)")})
    target = lesson.views([TARGET])["target"]
    ui.share_link()
    configs = [config.replace(whitening="none")]
    if config.whitening != "none":
        configs.append(config)
    runs = lesson.run(configs)

    def ready(snaps):
        waiting = [s for s in snaps if not s.nets or s.data is None]
        if waiting:
            st.info(_("Preparing {runs} (a run waits in a queue while the server trains two "
                      "others)...").format(runs=text.and_list(
                          whitening_name(s.config.whitening) for s in waiting)))
        return [s for s in snaps if s.nets and s.data is not None]

    def initial(snaps, brief):
        snaps = ready(snaps)
        if not snaps:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            initial_chart(snaps, key="white:init")
        with c2:
            st.markdown(text.cut_rows(snaps))
            if not brief:
                st.markdown(_(
                    "Each grey line is where one first-layer unit's input is 0 at the random "
                    "start (bias 0): all pass through the origin of what the net sees. **Look "
                    "for** the fan of lines: unwhitened it meets at (0, 0), far from the data; "
                    "whitening moves the data's centre there.\n\n**Try** *Distance from the "
                    "origin* 0: then both panels look alike."))

    def reached(snaps, brief):
        snaps = [s for s in snaps if s.nets and s.data is not None]
        if not snaps:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            pair_chart(whitening_accuracy_chart, snaps, target, key="white:acc")
        with c2:
            names = list(snaps[0].nets)
            head = "| " + _("net") + " | " + " | ".join(whitening_name(s.config.whitening) for s in snaps) + " |"
            rule = "|---|" + "---|" * len(snaps)
            body = ["| " + _(snaps[0].nets[n].label) + " | "
                    + " | ".join(text.reached_text(s.nets[n], target) for s in snaps) + " |"
                    for n in names]
            st.markdown(_("**Steps to reach {target:.0%} training accuracy**").format(
                target=target) + "\n\n" + "\n".join([head, rule] + body))
            if len(snaps) == 2:
                st.markdown(text.speedup_sentence(snaps, "plain", target,
                                                  whitening_name(snaps[1].config.whitening)))
            if not brief:
                st.markdown(text.whitening_look_for(snaps, target) + "\n\n"
                            + _("**Try** the target slider, *standardise* or *PCA whitening*, "
                                "or a larger distance."))

    def now(snaps, brief):
        snaps = [s for s in snaps if s.nets and s.data is not None]
        if not snaps:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            pair_chart(current_boundaries_chart, snaps, key="white:now")
        with c2:
            st.markdown(text.now_rows(snaps))
            if not brief:
                st.markdown(_("**Look for** which nets already bend their boundary around "
                              "the data and which still cut it with a nearly straight line."))
        if not brief:
            with st.expander(_("Export these runs")):
                for s in snaps:
                    st.caption(whitening_name(s.config.whitening))
                    ui.export_controls(s, f"whitening-{s.config.whitening}")

    lesson.section(N_("At initialisation"), initial,
                   say=N_("Where do the random first boundaries pass, whitened and not?"))
    lesson.section(N_("Steps to reach the target"), reached,
                   say=N_("How many steps does each net need to reach the target?"))
    lesson.section(N_("Decision regions now"), now,
                   say=N_("Which nets already bend their boundary?"))
    lesson.live(runs)


# ---------------------------------------------------------------------------- the page

PART = current_part()
LESSON = ui.Lesson(N_("Covariate shift and decision boundaries"), INTRO[PART], more=MORE)

with ui.guard(N_("the covariate shift page")):
    if part_selector() == "whitening":
        whitening_part(LESSON)
    else:
        shift_part(LESSON)
