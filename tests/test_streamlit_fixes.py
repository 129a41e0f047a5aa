"""The page-change race workaround (bnlab_ui/streamlit_fixes.py) is installed on the real
Streamlit classes and drops only fragment reruns stamped with a page the session has left."""
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

from bnlab_ui import streamlit_fixes


def test_it_installs_on_this_streamlit():
    assert streamlit_fixes.install() is True
    assert ScriptRunner._run_script.__name__ == "guarded_run_script"
    assert AppSession.request_rerun.__name__ == "guarded_request_rerun"
    assert streamlit_fixes.install() is True  # once per process: a second call changes nothing
    assert ScriptRunner._run_script.__name__ == "guarded_run_script"


def test_only_a_fragment_rerun_from_another_page_is_stale():
    stale = streamlit_fixes._stale
    assert stale(True, "page-a", "page-b")
    assert not stale(True, "page-b", "page-b")      # this page's own timer
    assert not stale(False, "page-a", "page-b")     # a full rerun (a click, a page switch)
    assert not stale(True, "", "page-b")            # a request that names no page
    assert not stale(True, "page-a", "")            # a fresh session that shows no page yet
