"""Teacher and students: who may drive the class.

The person who starts the server sets a teacher key (BNLAB_TEACHER_KEY in the environment, or
`teacher_key` in .streamlit/secrets.toml). A teacher enters it once in the sidebar; it is
compared in constant time, never put in a URL or a log, and wrong attempts are slowed: after
each failure a session waits twice as long as before (1, 2, 4, ... seconds, at most
MAX_DELAY), and the whole server accepts at most SERVER_FAILURES_PER_MINUTE failures a minute.
With no key configured nobody has teacher powers and the server runs as an open lab.
"""
from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections import deque

import streamlit as st

log = logging.getLogger("bnlab_ui.roles")

MAX_DELAY = 60.0
SERVER_FAILURES_PER_MINUTE = 30
ROLE_KEY = "_bnlab_role"
_failures: deque = deque()
_failures_lock = threading.Lock()


def teacher_key() -> str | None:
    """The configured teacher key, or None (environment first, then secrets.toml)."""
    key = os.environ.get("BNLAB_TEACHER_KEY")
    if key:
        return key
    try:
        value = st.secrets.get("teacher_key")
    except Exception:  # no secrets.toml: that is fine
        return None
    return str(value) if value else None


def is_teacher() -> bool:
    return st.session_state.get(ROLE_KEY) == "teacher" and teacher_key() is not None


def _server_busy() -> bool:
    now = time.monotonic()
    with _failures_lock:
        while _failures and now - _failures[0] > 60.0:
            _failures.popleft()
        return len(_failures) >= SERVER_FAILURES_PER_MINUTE


def check_key(entered: str) -> tuple[bool, str]:
    """Try a key for this session: (signed in, message). Rate-limited as the module says."""
    key = teacher_key()
    if key is None:
        return False, "No teacher key is set on this server."
    state = st.session_state
    now = time.monotonic()
    wait = state.get("_bnlab_key_wait_until", 0.0) - now
    if wait > 0:
        return False, f"Too many wrong keys: wait {wait:.0f} s before trying again."
    if _server_busy():
        return False, "Too many wrong keys on this server just now: try again in a minute."
    if hmac.compare_digest(entered.encode("utf-8"), key.encode("utf-8")):
        state[ROLE_KEY] = "teacher"
        state["_bnlab_key_failures"] = 0
        log.info("a teacher signed in")
        return True, "Signed in as the teacher."
    failures = state.get("_bnlab_key_failures", 0) + 1
    state["_bnlab_key_failures"] = failures
    delay = min(MAX_DELAY, 2.0 ** (failures - 1))
    state["_bnlab_key_wait_until"] = now + delay
    with _failures_lock:
        _failures.append(now)
    log.warning("a wrong teacher key was entered (%d in this session)", failures)
    return False, f"That is not the teacher key. You can try again in {delay:.0f} s."


def sign_out() -> None:
    st.session_state.pop(ROLE_KEY, None)


def teacher_panel(container=None) -> None:
    """The sidebar's teacher sign-in (or sign-out)."""
    container = container or st.sidebar
    if teacher_key() is None:
        return
    with container.expander("Teacher (signed in)" if is_teacher() else "Teacher",
                            icon=":material/school:", expanded=False):
        if is_teacher():
            st.caption("You are signed in as the teacher: your page is the class's page.")
            st.button("Sign out", key="role:signout", on_click=sign_out)
            return
        with st.form("role:signin", clear_on_submit=True, border=False):
            entered = st.text_input("Teacher key", type="password", key="role:key",
                                    autocomplete="off")
            submitted = st.form_submit_button("Sign in")
        if submitted:
            ok, message = check_key(entered or "")
            (st.success if ok else st.error)(message)
            if ok:
                st.rerun()
