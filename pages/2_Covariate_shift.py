"""Covariate shift and decision boundaries (T1, T2): a boundary learnt on training data meets
shifted test data; data far from the origin trained with and without input whitening."""
import math
from collections import OrderedDict

import streamlit as st

import bnlab_ui as ui
from bn_core.config import Setting
from bn_core.markdown import url_value
from bn_core.lessons.covariate_shift import (distance_from_origin, first_layer_lines, shift_sweep,
                                     units_cutting_data)
from bn_core.lessons.covariate_shift import (reached_text,
                                             speedup_sentence, whitening_look_for)
from bn_core.figures.shift import (current_boundaries_chart, decision_regions_chart,
                                   initial_boundaries_chart, shift_sweep_chart,
                                   train_test_accuracy_chart, whitening_accuracy_chart,
                                   whitening_name)
from bn_core.figures.style import LIVE_CONFIG
from bn_core.presets import lesson_setup

# A small sigmoid net on 300 points: both nets learn the moons in about a thousand steps, paced
# so that a run lasts 12-15 s and the boundaries can be watched moving.
SHIFT_BASE = lesson_setup("covariate-shift")
WHITE_BASE = lesson_setup("whitening")
SHIFT_SETTINGS = ["dataset", "n_samples", "noise", "shift_x", "shift_y", "rotate_deg", "scale"]
WHITE_SETTINGS = ["dataset", "n_samples", "noise", "far_offset", "whitening"]
PARTS = {"shift": "Shift the test data (T1)", "whitening": "Whitening (T2)"}
PART_URL, DEFAULT_PART = "part", "shift"
TARGET = Setting(name="target", kind=float, default=0.9, label="Target training accuracy",
                 lo=0.5, hi=1.0, url="target",
                 help="Steps to reach it are counted for each net. Changing it does not "
                      "restart the runs.")


def pct(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.0%}"


def last(view, metric: str) -> float:
    values = view.evals.get(metric)
    return float(values[-1]) if values is not None and len(values) else math.nan


# ---------------------------------------------------------------------------- part 1: T1

def shift_part() -> None:
    st.sidebar.header("Data and test shift")
    config = ui.config_controls(SHIFT_BASE, SHIFT_SETTINGS)
    ui.share_link()
    run = ui.run_controls(config)
    st.caption("The shift moves the **test points only** (about the training data's centre). "
               "Each slider change starts a new run from the same start: same training points, "
               "same initial weights, same batches, so the nets learn the very same boundaries; "
               "only the test points are somewhere else.")

    def render(snap):
        if not snap.nets or snap.data is None:
            st.info("Preparing the data and the twin nets...")
            return
        cfg = snap.config
        shifted = (cfg.shift_x, cfg.shift_y, cfg.rotate_deg, cfg.scale) != (0.0, 0.0, 0.0, 1.0)
        how = (f"moved by ({cfg.shift_x:+g}, {cfg.shift_y:+g}), rotated {cfg.rotate_deg:+g} "
               f"degrees and scaled x{cfg.scale:g}")
        c1, c2 = st.columns([3, 1.3])
        with c1:
            ui.chart(decision_regions_chart, snap, key="shift:boundary")
        with c2:
            ui.explain(
                "**Look for** the black boundary bending around the training points (circles) "
                "while the nets train, and where the test points (crosses, same colours = same "
                f"classes) fall: here they are {how}.\n\n"
                + ("Many crosses now sit on the wrong side of a boundary that is right for the "
                   "circles: the boundary learnt the *training* distribution."
                   if shifted else
                   "The test data is not shifted: crosses and circles come from the same "
                   "distribution.")
                + "\n\n**Try** *Test rotation* 90, or *Test shift x* back to 0, or *Test scale* "
                  "2 (in the sidebar).")
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(train_test_accuracy_chart, snap, key="shift:acc")
        with c2:
            rows = []
            for name, view in snap.nets.items():
                if not len(view.evals.get("step", ())):
                    continue
                rows.append(f"- **{view.label}**: training data **{pct(last(view, 'train_acc'))}**, "
                            f"unshifted held-out points {pct(last(view, 'heldout_acc'))}, "
                            f"shifted test data **{pct(last(view, 'test_acc'))}**")
            st.markdown(f"**Accuracy at step {snap.step:,}**\n" + "\n".join(rows))
            ui.explain(
                "**Look for** the gap between the solid lines (training data) and the dotted "
                "ones (shifted test data): training accuracy climbs while test accuracy stays "
                "low. Held-out points drawn from the *training* distribution score like the "
                "training data: the nets did learn, just not the test distribution.\n\n"
                "**Try** a larger shift: the dotted lines drop further, the solid ones do not "
                "move. BN does not help here: it normalises inside the net with statistics of "
                "the *training* batches.")
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(shift_sweep_chart, snap, key="shift:sweep")
        with c2:
            rows = []
            for name, view in snap.nets.items():
                grid = view.latest.get("grid")
                if grid is None or snap.viewport is None:
                    continue
                acc = shift_sweep(snap.data, cfg, grid, snap.viewport)
                rows.append(f"- **{view.label}**: {pct(float(acc[0]))} unshifted, "
                            f"{pct(float(acc[len(acc) // 2]))} half way, "
                            f"**{pct(float(acc[-1]))}** at your full shift")
            st.markdown(f"**Boundary of step {snap.step:,}, test data moved gradually**\n"
                        + "\n".join(rows))
            ui.explain(
                "The same boundary, scored on the test points moved by 0 %, 10 %, ... 100 % of "
                "your shift (read off the decision regions above, no retraining). **Look for** "
                "accuracy falling as the shift grows: the further the test distribution drifts "
                "from the training one, the more points land on the wrong side.")
        with st.expander("Export this run"):
            ui.export_controls(snap, "covariate-shift")

    if run is not None:
        ui.live_view(run, render)


# ---------------------------------------------------------------------------- part 2: T2

def pair_chart(builder, snaps: list, *args, key: str) -> None:
    """`ui.chart` for a builder of several runs' snapshots: cached per step of every run."""
    others = snaps[1:]
    token = tuple((hash(s.key), s.step, s.status, tuple(v.step for v in s.nets.values()))
                  for s in others)

    def build(first, name, token, *args):
        return builder([first] + others, *args)

    ui.chart(build, snaps[0], builder.__name__, token, *args, key=key)


_INITIAL_FIGURES: OrderedDict = OrderedDict()  # run keys -> figure (it never changes after step 0)


def initial_chart(snaps: list, key: str) -> None:
    """The initial boundaries depend only on how the runs start: built once per pair of runs
    (and all viewers), not at every refresh like the live charts."""
    token = tuple(s.key for s in snaps)
    fig = _INITIAL_FIGURES.get(token)
    if fig is None:
        fig = initial_boundaries_chart(snaps)
        if all(v.initial_grid is not None for s in snaps for v in s.nets.values()):
            _INITIAL_FIGURES[token] = fig
            while len(_INITIAL_FIGURES) > 32:
                _INITIAL_FIGURES.popitem(last=False)
    st.plotly_chart(fig, key=key, width="stretch", config=LIVE_CONFIG)


def whitening_part() -> None:
    st.sidebar.header("Data far from the origin")
    config = ui.config_controls(WHITE_BASE, WHITE_SETTINGS,
                                labels={"whitening": "Whitening (compared with none)"})
    target = ui.view_controls([TARGET])["target"]
    ui.share_link()
    configs = [config.replace(whitening="none")]
    if config.whitening != "none":
        configs.append(config)
    runs = ui.run_controls(configs)
    if runs is None:
        st.stop()
    st.caption("Two runs side by side, identical except for the input transform: "
               + " and ".join(f"**{whitening_name(c.whitening)}**" for c in configs)
               + f". The whitener is fitted on the training points; every point is moved "
               f"{config.far_offset:g} along both axes first.")
    lead = next((r for r in runs if r.snapshot().live), runs[0])
    me = ui.viewer_id()

    def render(snap):
        snaps = [snap if r is lead else r.snapshot() for r in runs]
        for r in runs:
            if r is not lead:
                r.touch(me)
        st.caption(" · ".join(f"{whitening_name(s.config.whitening)}: {s.status}, step "
                              f"{s.step:,} of {s.total_steps:,}" for s in snaps))
        waiting = [s for s in snaps if not s.nets or s.data is None]
        snaps = [s for s in snaps if s.nets and s.data is not None]
        if waiting:
            st.info(f"Preparing {' and '.join(whitening_name(s.config.whitening) for s in waiting)}"
                    " (a run waits in a queue while the server trains two others)...")
        if not snaps:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            initial_chart(snaps, key="white:init")
        with c2:
            rows = []
            for s in snaps:
                lines = first_layer_lines(s.config, s.data.whitener, s.data.n_classes)
                cuts = units_cutting_data(lines, s.data.x_train)
                rows.append(f"- **{whitening_name(s.config.whitening)}**: "
                            f"**{int(cuts.sum())} of {len(cuts)}** first-layer units cut "
                            "through the training data")
            dist = distance_from_origin(snaps[0].data.x_train)
            st.markdown(f"**At initialisation** (data centred {dist:.1f} from the origin)\n"
                        + "\n".join(rows))
            ui.explain(
                "Each grey line is where one first-layer unit's input is 0, at the random "
                "start (weights random, **bias 0**): every line passes through the origin of "
                "what the net sees. **Look for** the fan of lines: without whitening it meets "
                "at (0, 0), far from the data, so almost no unit separates any two points and "
                "the net starts by predicting one class everywhere on the data. Whitening "
                "moves the data's centre to the net's origin: the lines cut through it.\n\n"
                "**Try** *Distance from the origin* 0: then both panels look alike.")
        c1, c2 = st.columns([3, 2])
        with c1:
            pair_chart(whitening_accuracy_chart, snaps, target, key="white:acc")
        with c2:
            names = list(snaps[0].nets)
            head = "| net | " + " | ".join(whitening_name(s.config.whitening) for s in snaps) + " |"
            rule = "|---|" + "---|" * len(snaps)
            body = ["| " + snaps[0].nets[n].label + " | "
                    + " | ".join(reached_text(s.nets[n], target) for s in snaps) + " |"
                    for n in names]
            st.markdown(f"**Steps to reach {target:.0%} training accuracy**\n\n"
                        + "\n".join([head, rule] + body))
            if len(snaps) == 2:
                st.markdown(speedup_sentence(snaps, "plain", target,
                                             whitening_name(snaps[1].config.whitening)))
            ui.explain(whitening_look_for(snaps, target) + "\n\n"
                       "**Try** the target slider, *standardize* or *pca*, or a larger distance.")
        c1, c2 = st.columns([3, 2])
        with c1:
            pair_chart(current_boundaries_chart, snaps, key="white:now")
        with c2:
            rows = [f"- **{s.nets[n].label}, {whitening_name(s.config.whitening)}**: "
                    f"{pct(last(s.nets[n], 'train_acc'))} of training points right"
                    for s in snaps for n in s.nets]
            st.markdown("**Now**\n" + "\n".join(rows))
            ui.explain("**Look for** which nets already bend their boundary around the data "
                       "and which still cut it with a nearly straight line.")
        with st.expander("Export these runs"):
            for s in snaps:
                st.caption(whitening_name(s.config.whitening))
                ui.export_controls(s, f"whitening-{s.config.whitening}")

    ui.live_view(lead, render)


# ---------------------------------------------------------------------------- the page

def lesson_part() -> str:
    """The part of the lesson shown, bound to the URL as part=shift|whitening."""
    key, notice_key = "covshift:part", "covshift:part_notice"
    if key not in st.session_state:
        raw = st.query_params.get(PART_URL, DEFAULT_PART)
        st.session_state[notice_key] = None
        if raw not in PARTS:  # kept, like the settings' notices, until the page is left
            st.session_state[notice_key] = (
                f"{url_value(PART_URL, raw)} is not valid (one of {', '.join(PARTS)}); "
                f"showing {PARTS[DEFAULT_PART]}.")
            raw = DEFAULT_PART
        st.session_state[key] = raw
    if st.session_state.get(notice_key):
        st.warning(st.session_state[notice_key], icon=":material/link_off:")
    part = st.segmented_control("Part of the lesson", list(PARTS), format_func=PARTS.get,
                                required=True, key=key,
                                on_change=lambda: st.session_state.update({notice_key: None})
                                ) or DEFAULT_PART
    if part == DEFAULT_PART:
        if PART_URL in st.query_params:
            del st.query_params[PART_URL]
    elif st.query_params.get(PART_URL) != part:
        st.query_params[PART_URL] = part
    return part


ui.page_header(
    "Covariate shift and decision boundaries", "T1, T2",
    "A network learns the distribution of its **training** data. Below, a plain net and a BN "
    "net (same start, same batches) learn a boundary between the classes of some 2-D points. "
    "**Part 1** moves the *test* points (shift, rotate, rescale): the boundary that is right for "
    "the training points is wrong for them, and test accuracy falls while training accuracy "
    "stays high. **Part 2** puts all the data far from the origin: random initial boundaries "
    "pass near the origin and miss it, so training is slow unless the inputs are "
    "**whitened** (zero mean, unit variance, decorrelated). This is the covariate shift that "
    "gave *internal* covariate shift its name.")

with ui.guard("the covariate shift page"):
    part = lesson_part()
    if part == "whitening":
        whitening_part()
    else:
        shift_part()
