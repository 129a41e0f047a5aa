"""A page's runs: getting the shared run (or a viewer's own copy) from the registry, starting it
on first view, leaving the runs a page no longer shows, and what a run's state asks the page to
say."""
from __future__ import annotations

import time
from typing import Callable

import streamlit as st

from bn_core.config import RunConfig
from bn_core.engine.records import RunSnapshot
from bn_core.engine.registry import RegistryFull, RunRegistry
from bn_core.engine.run import Run
from bn_core.engine.run_data import check_config
from bn_core.figures.style import net_label
from bn_core.i18n import N_, _
from bn_core.markdown import literal
from bnlab_ui.core import (REFRESH_SECONDS, REFRESH_TIMES, _page_name, _session_id, get_registry,
                           guard, viewer_id)

FIRST_RECORD_WAIT = 0.5  # seconds a Start/Restart click waits for the run's first records


def wait_first_records(runs: list[Run], timeout: float = FIRST_RECORD_WAIT) -> None:
    """After a click that starts runs: wait (at most `timeout` s for all) for their first
    records, so that the rerun the click causes draws the new attempt, not the old run's last
    records, a refresh (a second) later. A new run's first records take 0.06-0.25 s in a warm
    worker (`python scripts/bench_engine.py first`)."""
    deadline = time.monotonic() + timeout
    for r in runs:
        r.wait_first_record(max(0.0, deadline - time.monotonic()))


STATUS_NAMES = {"ready": N_("ready"), "queued": N_("queued"), "loading": N_("loading"),
                "running": N_("running"), "paused": N_("paused"), "finished": N_("finished"),
                "stopped": N_("stopped"), "failed": N_("failed")}
STATUS_ICONS = {"ready": ":material/hourglass_empty:", "queued": ":material/schedule:",
                "loading": ":material/downloading:", "running": ":material/play_circle:",
                "paused": ":material/pause_circle:", "finished": ":material/check_circle:",
                "stopped": ":material/stop_circle:", "failed": ":material/error:"}


def _check_run(config: RunConfig) -> str | None:
    try:
        check_config(config)
    except ValueError as exc:
        return str(exc)
    return None


def run_controls(config: RunConfig | list[RunConfig], autostart: bool = True,
                 container=None, scope: str = "", buttons: bool = True
                 ) -> Run | list[Run] | None:
    """The shared run of this config (or the runs of several configs, compared side by side),
    or this viewer's own copies (`scope`); starts them on first view. With `buttons`, the old
    Start/Pause/Stop/Restart row (lessons draw a live control bar instead)."""
    container = container or st
    configs = config if isinstance(config, list) else [config]
    for c in configs:
        problem = _check_run(c)
        if problem:
            container.error(_("These settings cannot be trained: {problem}").format(
                                problem=literal(problem)),
                            icon=":material/block:")
            return None
    registry, viewer = get_registry(), viewer_id()
    try:
        runs = [registry.get(c, scope) for c in configs]
    except RegistryFull as exc:
        container.error(_("No room for another run: {reason}.").format(reason=literal(str(exc))),
                        icon=":material/block:")
        return None
    _follow(registry, runs, viewer)
    for run in runs:
        started_key = f"_autostarted:{run.key}"
        if autostart and run.status == "ready" and not st.session_state.get(started_key):
            run.start()
        st.session_state[started_key] = True
        registry.watch(run, viewer)
    if not buttons:
        return runs if isinstance(config, list) else runs[0]

    def every(action):
        return lambda: [action(r) for r in runs]

    def start_all():
        for r in runs:
            r.start()
        wait_first_records(runs)

    def stop_all():
        for r in runs:
            r.stop("stopped by a viewer")

    def restart_all():
        stop_all()
        start_all()

    # Callbacks run before the script, so the buttons below are drawn in the new state.
    cols = container.columns(4)
    live = any(r.status in ("queued", "loading", "running", "paused") for r in runs)
    cols[0].button(_("Start"), icon=":material/play_arrow:", disabled=live, key="run:start",
                   type="primary", width="stretch", on_click=start_all)
    if any(r.status == "paused" for r in runs):
        cols[1].button(_("Resume"), icon=":material/play_arrow:", key="run:resume",
                       width="stretch", on_click=every(Run.resume))
    else:
        cols[1].button(_("Pause"), icon=":material/pause:", key="run:pause", width="stretch",
                       disabled=not any(r.status == "running" for r in runs),
                       on_click=every(Run.pause))
    cols[2].button(_("Stop"), icon=":material/stop:", disabled=not live, key="run:stop",
                   width="stretch", on_click=stop_all)
    cols[3].button(_("Restart"), icon=":material/replay:", key="run:restart", width="stretch",
                   on_click=restart_all)
    return runs if isinstance(config, list) else runs[0]


def _follow(registry: RunRegistry, runs: list[Run], viewer: str) -> None:
    """Remember which runs this session's page shows; leave the ones it showed before (a run
    whose only viewer moved a slider pauses at once)."""
    slot = f"{_page_name()}|_runs"
    keys = [r.key for r in runs]
    for key in st.session_state.get(slot, []):
        if key not in keys:
            old = registry.peek(key)
            if old is not None:
                registry.leave(old, viewer)
    st.session_state[slot] = keys


def status_line(snap: RunSnapshot) -> None:
    """Status, progress (step of total, steps/s), each net's state, viewers, queue place."""
    icon = STATUS_ICONS.get(snap.status, "")
    parts = [f"{icon} **{_(STATUS_NAMES.get(snap.status, snap.status))}**",
             _("step {step:,} of {total:,}").format(step=snap.step, total=snap.total_steps)]
    if snap.steps_per_sec:
        parts.append(_("{rate:,.0f} steps/s").format(rate=snap.steps_per_sec))
    if snap.viewers > 1:
        parts.append(_("{viewers} viewers").format(viewers=snap.viewers))
    nets = ", ".join(f"{_(net_label(n))}: {v.status_shown}" for n, v in snap.nets.items())
    if nets:
        parts.append(nets)
    st.progress(snap.progress, text=" · ".join(parts))
    run_notices(snap)


def run_notices(snap: RunSnapshot) -> None:
    """What a run's state asks the page to say: its queue place and wait, starting, paused
    for want of viewers, failed (with why), stopped, a net that diverged."""
    if snap.status == "queued":
        place = snap.queue_position or 1
        if snap.queue_wait is not None:
            text = _("The server's cores are full: this run is number {place} in the queue and "
                     "starts as soon as there is room (about {wait:.0f} s).").format(
                         place=place, wait=snap.queue_wait)
        else:
            text = _("The server's cores are full: this run is number {place} in the queue and "
                     "starts as soon as there is room.").format(place=place)
        st.info(text, icon=":material/schedule:")
    if snap.status == "loading" and not snap.nets:
        backend = get_registry().backend
        starting = not getattr(backend, "ready", lambda: True)()
        st.caption(_("Starting this server's training processes (they load PyTorch once, a few "
                     "seconds after the server starts)...") if starting else
                   _("Loading the data and building the nets..."))
    if snap.status == "paused" and snap.paused_by == "idle":
        st.caption(_("Paused while nobody was watching; it goes on from here now."))
    if snap.status == "failed":
        st.error(_("Training failed: {reason}").format(reason=literal(snap.message)),
                 icon=":material/error:")
    elif snap.message and snap.status == "stopped":
        st.caption(snap.message)
    for name, view in snap.nets.items():
        if view.status == "diverged":
            st.warning(_("{net} net **diverged at step {step}**: its loss or weights stopped "
                         "being finite numbers. Its twin goes on.").format(
                             net=_(net_label(name)), step=view.diverged_at),
                       icon=":material/trending_up:")


def live_view(run: Run, render: Callable[[RunSnapshot], None],
              refresh: float = REFRESH_SECONDS) -> None:
    """Draw `render(snapshot)` now and about every `refresh` seconds while the run is live."""
    interval = refresh if run.snapshot().live else None
    session = _session_id()

    @st.fragment(run_every=interval)
    def fragment():
        from bnlab_ui import language

        language.apply()
        started = REFRESH_TIMES.start()
        get_registry().watch(run, session)
        snap = run.snapshot()
        with guard(N_("the live charts")):
            status_line(snap)
            render(snap)
        REFRESH_TIMES.add(_page_name(), started)
        if interval is not None and not snap.live:
            st.rerun()  # one full rerun turns the timer off
        elif interval is None and snap.live:
            st.rerun()  # the run was (re)started: turn the timer on

    fragment()
