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
from bn_core.engine.training import check_config
from bn_core.figures.style import net_label
from bn_core.markdown import literal
from bnlab_ui.core import (REFRESH_SECONDS, REFRESH_TIMES, _page_name, _session_id, get_registry,
                           guard, viewer_id)

FIRST_RECORD_WAIT = 0.5  # seconds a Start/Restart click waits for the run's first records


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
            container.error(f"These settings cannot be trained: {literal(problem)}",
                            icon=":material/block:")
            return None
    registry, viewer = get_registry(), viewer_id()
    try:
        runs = [registry.get(c, scope) for c in configs]
    except RegistryFull as exc:
        container.error(f"No room for another run: {literal(str(exc))}.", icon=":material/block:")
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
        for r in runs:  # the rerun that follows then draws the new run's first records
            r.wait_first_record(FIRST_RECORD_WAIT)

    def stop_all():
        for r in runs:
            r.stop("stopped by a viewer")

    def restart_all():
        stop_all()
        start_all()

    # Callbacks run before the script, so the buttons below are drawn in the new state.
    cols = container.columns(4)
    live = any(r.status in ("queued", "loading", "running", "paused") for r in runs)
    cols[0].button("Start", icon=":material/play_arrow:", disabled=live, key="run:start",
                   type="primary", width="stretch", on_click=start_all)
    if any(r.status == "paused" for r in runs):
        cols[1].button("Resume", icon=":material/play_arrow:", key="run:resume",
                       width="stretch", on_click=every(Run.resume))
    else:
        cols[1].button("Pause", icon=":material/pause:", key="run:pause", width="stretch",
                       disabled=not any(r.status == "running" for r in runs),
                       on_click=every(Run.pause))
    cols[2].button("Stop", icon=":material/stop:", disabled=not live, key="run:stop",
                   width="stretch", on_click=stop_all)
    cols[3].button("Restart", icon=":material/replay:", key="run:restart", width="stretch",
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
    parts = [f"{icon} **{snap.status}**", f"step {snap.step:,} of {snap.total_steps:,}"]
    if snap.steps_per_sec:
        parts.append(f"{snap.steps_per_sec:,.0f} steps/s")
    if snap.viewers > 1:
        parts.append(f"{snap.viewers} viewers")
    nets = ", ".join(f"{net_label(n)}: {v.status_text}" for n, v in snap.nets.items())
    if nets:
        parts.append(nets)
    st.progress(snap.progress, text=" · ".join(parts))
    run_notices(snap)


def run_notices(snap: RunSnapshot) -> None:
    """What a run's state asks the page to say: its queue place and wait, starting, paused
    for want of viewers, failed (with why), stopped, a net that diverged."""
    if snap.status == "queued":
        wait = (f" (about {snap.queue_wait:.0f} s)" if snap.queue_wait is not None else "")
        st.info(f"The server's cores are full: this run is number {snap.queue_position or 1} "
                f"in the queue and starts as soon as there is room{wait}.",
                icon=":material/schedule:")
    if snap.status == "loading" and not snap.nets:
        backend = get_registry().backend
        starting = not getattr(backend, "ready", lambda: True)()
        st.caption("Starting this server's training processes (they load PyTorch once, a few "
                   "seconds after the server starts)..." if starting else
                   "Loading the data and building the nets...")
    if snap.status == "paused" and snap.paused_by == "idle":
        st.caption("Paused while nobody was watching; it goes on from here now.")
    if snap.status == "failed":
        st.error(f"Training failed: {literal(snap.message)}", icon=":material/error:")
    elif snap.message and snap.status == "stopped":
        st.caption(snap.message)
    for name, view in snap.nets.items():
        if view.status == "diverged":
            st.warning(f"{net_label(name)} net **diverged at step {view.diverged_at}**: its loss "
                       "or weights stopped being finite numbers. Its twin goes on.",
                       icon=":material/trending_up:")


def live_view(run: Run, render: Callable[[RunSnapshot], None],
              refresh: float = REFRESH_SECONDS) -> None:
    """Draw `render(snapshot)` now and about every `refresh` seconds while the run is live."""
    interval = refresh if run.snapshot().live else None
    session = _session_id()

    @st.fragment(run_every=interval)
    def fragment():
        started = time.perf_counter()
        get_registry().watch(run, session)
        snap = run.snapshot()
        with guard("the live charts"):
            status_line(snap)
            render(snap)
        REFRESH_TIMES.add(_page_name(), time.perf_counter() - started)
        if interval is not None and not snap.live:
            st.rerun()  # one full rerun turns the timer off
        elif interval is None and snap.live:
            st.rerun()  # the run was (re)started: turn the timer on

    fragment()
