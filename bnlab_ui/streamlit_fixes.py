"""A workaround for a Streamlit race that turns a student's page white when the page changes.

Measured with `scripts/repro_white_pages/` (30 lines of plain Streamlit: two pages, each with a
`run_every` fragment, five Chromium sessions switched between the pages from the server, the
machine loaded with three busy processes): 5 of 5 browsers threw
"Bad delta path index 4 (should be between [0, 0])" and stayed white; with this module, 0 of 5
in 6 page changes. What the recorded websocket frames show:

1. The browser, still on page A, sends its fragments' timed reruns (`run_every`) stamped with
   page A while the server already runs page B (the page switch).
2. Streamlit queues them and runs them right after B's full run, as fragment runs of page A's
   hash (or of B, when the fragment has the same id on both pages).
3. The frontend receives B's full run and that fragment run in one burst. On the fragment run's
   `new_session` it compares the page hash with `this.state`, which React has not yet updated
   to B, so it clears the page; the fragment's next delta (index 4 of an empty page) throws.

A fragment rerun stamped with a page other than the session's current page belongs to a page
the browser no longer shows; dropping it is what Streamlit means to do (the browser's timers
for the old page are cancelled when the new page arrives), and the new page's own timers fire
only after the browser has taken the new page in. Both places a request passes are guarded:
the session (a request arriving after the new page started) and the script thread (a request
queued before it).

A second race of the same kind undid a following student's page change under load: a browser
timer's fragment rerun that arrives while the server's own full rerun (`st.switch_page`, an
`st.rerun` after the URL changed) is still pending is folded into it, and Streamlit's merge keeps
the NEWER request's page and query string (`ScriptRequests._request_rerun_locked`), so the
pending switch ran as a full rerun of the old page with the old URL. The lecture test measured
the follow undone and retried with back-off (14.8 s for a page change at load 5). A timed
fragment rerun adds nothing to a pending full rerun, which reruns every fragment anyway, so it is
dropped there (`guarded_fold_rerun`)."""
from __future__ import annotations

import logging

log = logging.getLogger("bnlab_ui")
_installed: list[bool] = []
_push_broken: list[bool] = []  # True once pushing reruns failed: the timed checks follow alone


def _stale(fragment_run: bool, request_page: str, current_page: str) -> bool:
    """A fragment rerun asked for by a page other than the one this session now shows."""
    return bool(fragment_run and request_page and current_page and request_page != current_page)


def install() -> bool:
    """Patch Streamlit once per process; False (and a log line) if its internals moved."""
    if _installed:
        return _installed[0]
    try:
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
        from streamlit.runtime.scriptrunner_utils.script_requests import (
            ScriptRequests, ScriptRequestType, _is_full_app_rerun)

        run_script, request_rerun = ScriptRunner._run_script, AppSession.request_rerun
        fold_rerun = ScriptRequests._request_rerun_locked
    except Exception:  # pragma: no cover - a Streamlit without these internals
        log.warning("streamlit_fixes: Streamlit's internals changed; the page-change race "
                    "workaround is off")
        _installed.append(False)
        return False

    def guarded_run_script(self, rerun_data):
        ctx = self._get_script_run_ctx()
        if _stale(bool(rerun_data.fragment_id_queue), rerun_data.page_script_hash,
                  getattr(ctx, "page_script_hash", "") if ctx else ""):
            log.debug("dropped a fragment rerun from a page this session has left")
            return None
        return run_script(self, rerun_data)

    def guarded_request_rerun(self, client_state):
        if client_state is not None and _stale(bool(client_state.fragment_id),
                                               client_state.page_script_hash,
                                               self._client_state.page_script_hash):
            log.debug("dropped a fragment rerun request from a page this session has left")
            return None
        return request_rerun(self, client_state)

    def guarded_fold_rerun(self, new_data):
        # a browser timer's fragment rerun (`run_every`) folded into a pending full-app rerun,
        # which reruns every fragment anyway, would only replace its page and query string
        # with the timer's older ones
        if (self._state == ScriptRequestType.RERUN and new_data.is_auto_rerun
                and not _is_full_app_rerun(new_data) and _is_full_app_rerun(self._rerun_data)):
            log.debug("dropped a timed fragment rerun folded into a pending full rerun")
            return True
        return fold_rerun(self, new_data)

    ScriptRunner._run_script = guarded_run_script
    AppSession.request_rerun = guarded_request_rerun
    ScriptRequests._request_rerun_locked = guarded_fold_rerun
    _installed.append(True)
    return True


def rerun_sessions(session_ids) -> int:
    """Ask the server to rerun these browser sessions now, as a saved source file does
    (`AppSession.request_rerun` with the session's last client state, on the server's event
    loop), instead of waiting for each browser's timer. Used to bring following students to the
    teacher's page at once: under load a browser's one-second timer fired 2-4 s late. Returns how
    many were asked; 0 (and one log line) if Streamlit's internals moved, in which case each
    page's own timed check still follows the teacher."""
    ids = [s for s in session_ids if s]
    if not ids or _push_broken:
        return 0
    try:
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return 0
        manager = Runtime.instance()._session_mgr
        asked = 0
        for session_id in ids:
            info = manager.get_active_session_info(session_id)
            if info is None:
                continue
            session = info.session
            state = ClientState()
            state.CopyFrom(session._client_state)
            state.fragment_id = ""  # the whole page, not a fragment
            state.is_auto_rerun = False
            session._event_loop.call_soon_threadsafe(session.request_rerun, state)
            asked += 1
        return asked
    except Exception:  # Streamlit moved something: the timed checks still work
        _push_broken.append(True)
        log.exception("pushing reruns to sessions is off (Streamlit's internals moved)")
        return 0


# What is left of the race above when the machine is very loaded (a page change or a follow
# pushed while the browser's timers still fire: measured in the lecture test at load 8-11, about
# one run in four): Streamlit's frontend throws "Bad delta path index" and shows a white page
# until it is reloaded. This script, run once per browser tab, reloads such a page itself (the
# URL keeps the page and its settings; a following student is brought back to the class), at
# most once per 15 s so that it can never loop.
MEND_JS = """<script>
(() => {
  if (window.__bnlabMend) return;
  window.__bnlabMend = true;
  const KEY = "bnlab-mended-at";
  window.addEventListener("error", (event) => {
    if (!/Bad delta path index/.test(String(event.message || event.error))) return;
    const last = Number(sessionStorage.getItem(KEY) || 0);
    if (Date.now() - last < 15000) return;
    sessionStorage.setItem(KEY, String(Date.now()));
    console.warn("BN Lab: Streamlit's page-change race emptied this page; reloading it");
    setTimeout(() => location.reload(), 300);
  });
})();
</script>"""


def mend_white_pages() -> None:
    """Send the page the script that reloads it if Streamlit's race empties it (MEND_JS), in
    Streamlit's event container, where it takes no room on the page."""
    import streamlit as st

    try:
        from streamlit.delta_generator_singletons import get_dg_singleton_instance

        target = get_dg_singleton_instance().event_dg
    except Exception:  # pragma: no cover - a Streamlit without it: the sidebar's foot
        target = st.sidebar
    target.html(MEND_JS, unsafe_allow_javascript=True)
