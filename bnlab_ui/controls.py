"""A lesson's control bar, drawn inside its live fragment so it is always in the run's current
state: play/pause, one step, ten steps, restart, stop, the speed (steps per second), and the
step counter with the measured speed. Keyboard: K play/pause, S one step, Shift+S ten steps,
B restart.

Who may drive a shared run: the teacher, or a viewer who is its only viewer. Anyone else who
presses a button leaves the run instead (it goes on for the others) and gets their own copy.
"""
from __future__ import annotations

import zlib

import streamlit as st

from bn_core.engine.records import RunSnapshot
from bn_core.engine.run import Run
from bn_core.i18n import N_, _
from bnlab_ui import core, roles
from bnlab_ui.runs import wait_first_records

SPEEDS = (10.0, 30.0, 100.0, 300.0, 1000.0, 0.0)   # steps per second; 0 = as fast as it goes
STATUS_WORDS = {"ready": N_("not started"), "queued": N_("waiting for room"),
                "loading": N_("starting"), "running": N_("training"), "paused": N_("paused"),
                "finished": N_("finished"), "stopped": N_("stopped"), "failed": N_("failed")}
EXPLORE_KEY = "_bnlab_explore"
LEFT_KEY = "_bnlab_notice"  # set by a button that left the shared run: the next run shows it


def speed_label(pace: float) -> str:
    return _("max") if not pace else _("{pace:g}/s").format(pace=pace)


def nearest_speed(speeds, pace: float) -> float:
    """The speed option that shows a run's pace (max for an unpaced run)."""
    if not pace:
        return 0.0
    paced = [s for s in speeds if s]
    return min(paced, key=lambda s: abs(s - pace))


def counter_text(snap: RunSnapshot) -> str:
    """The control bar's counter: step of total, state, measured speed, viewers. Each part is a
    whole phrase in the catalogue (the language may order them differently)."""
    parts = [_("**step {step:,}** of {total:,}").format(step=snap.step, total=snap.total_steps),
             _(STATUS_WORDS.get(snap.status, snap.status))]
    if snap.status == "running":
        parts.append(_("{rate:,.0f} steps/s").format(rate=snap.steps_per_sec))
    if snap.viewers > 1:
        parts.append(_("{viewers} watching").format(viewers=snap.viewers))
    return " · ".join(parts)


def may_control(run: Run, viewer: str) -> bool:
    """The teacher, a viewer of their own copy, or a run's only viewer may drive it."""
    if roles.is_teacher() or run.key.endswith(f"|explore:{viewer}"):
        return True
    others = [v for v in run.viewer_ids() if v != viewer and core.session_active(v)]
    return not others


def leave_shared_run(page: str) -> None:
    """This viewer leaves the run everyone shares and gets their own copy on this page."""
    st.session_state.setdefault(EXPLORE_KEY, {})[page] = True
    st.session_state[LEFT_KEY] = _(
        "You left the shared run: it goes on for the others. This is your own copy of it, "
        "with the same settings: press Play to train it.")


def control_bar(runs: list[Run], snaps: list[RunSnapshot], viewer: str, page: str,
                default_pace: float, key: str) -> None:
    """The buttons and the counter (see the module docstring)."""
    allowed = all(may_control(r, viewer) for r in runs)
    live = any(s.live for s in snaps)
    running = any(s.status in ("running", "loading", "queued") for s in snaps)
    lead = snaps[0]

    def act(action, first_records: bool = False):
        def callback():
            if not all(may_control(r, viewer) for r in runs):
                leave_shared_run(page)
                return
            for r in runs:
                action(r)
            if first_records:
                wait_first_records(runs)
        return callback

    def play(r: Run):
        if r.status == "paused":
            r.resume()
        elif not r.alive:
            r.start()

    bar = st.container(horizontal=True, vertical_alignment="center", gap="small")
    if running:
        bar.button(_("Pause"), icon=":material/pause:", key=f"{key}:pause", shortcut="K",
                   on_click=act(Run.pause), help=_("Pause the training (K)"))
    else:
        bar.button(_("Play"), icon=":material/play_arrow:", key=f"{key}:play", shortcut="K",
                   type="primary", on_click=act(play, first_records=True),
                   help=_("Start or go on training (K)") if lead.status != "finished" else
                   _("This run has finished: Restart trains it again"))
    can_step = any(s.status in ("running", "paused") for s in snaps)
    bar.button(_("Step"), icon=":material/skip_next:", key=f"{key}:step1", shortcut="S",
               disabled=not can_step, on_click=act(lambda r: r.step(1)),
               help=_("Take exactly one training step, then pause (S)"))
    bar.button(_("10 steps"), icon=":material/fast_forward:", key=f"{key}:step10",
               shortcut="Shift+S", disabled=not can_step, on_click=act(lambda r: r.step(10)),
               help=_("Take exactly ten training steps, then pause (Shift+S)"))
    bar.button(_("Restart"), icon=":material/replay:", key=f"{key}:restart", shortcut="B",
               on_click=act(Run.restart, first_records=True),
               help=_("Train again from step 0 (B)"))
    bar.button(_("Stop"), icon=":material/stop:", key=f"{key}:stop", disabled=not live,
               on_click=act(lambda r: r.stop("stopped by a viewer")),
               help=_("End this run where it is"))
    speeds = sorted(set(SPEEDS) | {float(default_pace)}, key=lambda p: (p == 0, p))
    pace = nearest_speed(speeds, lead.pace)
    # The widget starts at the run's pace through `value` (its key names the run and the pace,
    # so a pace changed elsewhere, by the teacher, draws a fresh widget). Setting it through
    # session state instead let the browser fall back to the first option after a rerun and
    # send that back as a change: an unpaced run was slowed to 10 steps/s on first view.
    state_key = f"{key}:speed:{zlib.crc32(lead.key.encode())}:{pace:g}"

    def set_speed():
        value = st.session_state[state_key]
        if not all(may_control(r, viewer) for r in runs):
            leave_shared_run(page)
            return
        for r in runs:
            r.set_pace(value)

    with bar:
        st.select_slider(_("Speed (steps per second)"), options=speeds, value=pace, key=state_key,
                         format_func=speed_label, on_change=set_speed, width=220,
                         label_visibility="collapsed",
                         help=_("The training speed: steps per second (max: as fast as the "
                                "server allows)"))
    bar.markdown(counter_text(lead))
    if not allowed:
        st.caption(_("This run is shared: only the teacher, or a run's only viewer, can drive "
                     "it. Any button here gives you your own copy instead."))
