"""Recorded runs on a lesson page (bn_core/replay.py): a run's export uploaded in the sidebar is
shown with every chart of its page and nothing trains; a recording of the page's default
settings that ships with the app fills the charts at first paint, until the live run has
records of its own."""
from __future__ import annotations

import streamlit as st

from bn_core.i18n import _

from bn_core.engine.records import RunSnapshot
from bn_core.replay import Replay, ReplayError, from_files, shipped
from bn_core.markdown import literal
from bnlab_ui import core

PAGE_STATE = "_bnlab_page"   # (title, path) of the lesson page this session drew last


def current_page() -> str | None:
    """The lesson page being drawn (for an export to name), None on a page off the frame (its
    title is not the one the frame recorded)."""
    title, page = st.session_state.get(PAGE_STATE) or (None, None)
    return page if title is not None and title == st.session_state.get("_page_title") else None


def _keys(page: str) -> tuple[str, str, str]:
    return f"{page}|replay", f"{page}|replay:error", f"{page}|replay:upload"


class ReplayRun:
    """A recording standing in for a run: the key, config and snapshot `Lesson.live` reads."""

    def __init__(self, replay: Replay):
        self.replay = replay
        self.key, self.config = replay.key, replay.config
        self._snap: RunSnapshot | None = None

    def snapshot(self) -> RunSnapshot:
        if self._snap is None:
            self._snap = self.replay.snapshot()
        return self._snap


def opened(page: str) -> Replay | None:
    """The recording this viewer opened on this page, if any."""
    return st.session_state.get(_keys(page)[0])


def close(page: str) -> None:
    state, error, _ = _keys(page)
    st.session_state.pop(state, None)
    st.session_state.pop(error, None)


def _uploaded(page: str) -> None:
    state, error, upload = _keys(page)
    files = st.session_state.get(upload) or []
    if not files:
        return
    try:
        replay = from_files([(f.name, f.getvalue()) for f in files])
    except ReplayError as exc:
        st.session_state[error] = str(exc)
        return
    if replay.page and replay.page != page:
        st.session_state[error] = _("This run was recorded on another lesson page ({page}): open it there.").format(
            page=literal(replay.page))
        st.session_state[f"{error}:page"] = replay.page
        return
    st.session_state[state] = replay
    st.session_state.pop(error, None)


def sidebar(page: str) -> None:
    """The sidebar's "Show a recorded run" box: upload an export, or close the recording."""
    state, error, upload = _keys(page)
    replay = opened(page)
    with st.sidebar.expander(_("Show a recorded run"), icon=":material/movie:",
                             expanded=replay is not None or bool(st.session_state.get(error))):
        if replay is not None:
            st.markdown(_("Showing **{source}**: nothing trains while it is open.").format(
                source=literal(replay.source)))
            st.button(_("Close the recording"), icon=":material/close:", key=f"{upload}:close",
                      on_click=close, args=(page,))
        st.file_uploader(_("A run's JSON export (with, for an older export, its CSV)"),
                         accept_multiple_files=True, key=upload, on_change=_uploaded,
                         args=(page,), help=_("The files the Export this run box downloads. A teacher can "
                                "record a long run before class and show it at once."))
        message = st.session_state.get(error)
        if message:
            st.error(message, icon=":material/error:")
            other = st.session_state.get(f"{error}:page")
            if other:
                try:
                    st.page_link(other, label=_("Open that page"), icon=":material/arrow_forward:")
                except Exception:  # a page this app does not have
                    pass


def first_paint(config) -> Replay | None:
    """The shipped recording of this config (None if there is none or it cannot be read)."""
    try:
        return shipped(config)
    except Exception:  # a damaged file must not break the page: it is only a head start
        core.log.exception("shipped replay of %s", config.key()[:80])
        return None


def bar(replay_runs: list[ReplayRun], page: str) -> None:
    """In place of the control bar: what is shown, and how to leave it."""
    snap = replay_runs[0].snapshot()
    source = replay_runs[0].replay.source
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    row.button(_("Close the recording"), icon=":material/close:", key=f"{_keys(page)[2]}:bar",
               on_click=close, args=(page,), help=_("Back to the live run of the page's settings"))
    row.markdown(_(":material/movie: **Recorded run** · step {step:,} of {total:,} · {status} · "
                   "{source}").format(step=snap.step, total=snap.total_steps,
                                      status=_(snap.status), source=literal(source)))
    if not replay_runs[0].replay.complete:
        st.caption(_("Replayed from a CSV: its series only (histograms and decision regions "
                     "are not in a CSV)."))
