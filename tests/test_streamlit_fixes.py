"""The page-change race workaround (bnlab_ui/streamlit_fixes.py) is installed on the real
Streamlit classes and drops only fragment reruns stamped with a page the session has left."""
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from bnlab_ui import streamlit_fixes


def test_it_installs_on_this_streamlit():
    assert streamlit_fixes.install() is True
    assert ScriptRunner._run_script.__name__ == "guarded_run_script"
    assert AppSession.request_rerun.__name__ == "guarded_request_rerun"
    assert ScriptRequests._request_rerun_locked.__name__ == "guarded_fold_rerun"
    assert streamlit_fixes.install() is True  # once per process: a second call changes nothing
    assert ScriptRunner._run_script.__name__ == "guarded_run_script"


def test_only_a_fragment_rerun_from_another_page_is_stale():
    stale = streamlit_fixes._stale
    assert stale(True, "page-a", "page-b")
    assert not stale(True, "page-b", "page-b")      # this page's own timer
    assert not stale(False, "page-a", "page-b")     # a full rerun (a click, a page switch)
    assert not stale(True, "", "page-b")            # a request that names no page
    assert not stale(True, "page-a", "")            # a fresh session that shows no page yet


def _folded(first, second):
    """What Streamlit's real request queue holds after two rerun requests, with the fix on."""
    assert streamlit_fixes.install() is True
    requests = ScriptRequests()
    assert requests.request_rerun(first) is True
    assert requests.request_rerun(second) is True
    return requests.on_scriptrunner_ready().rerun_data


def test_a_timer_rerun_does_not_undo_a_pending_page_switch():
    switch = RerunData(query_string="page=b&lr=0.1", page_script_hash="hash-b")
    timer = RerunData(query_string="page=a", page_script_hash="hash-a", fragment_id="frag-a",
                      is_auto_rerun=True)
    ran = _folded(switch, timer)
    assert (ran.page_script_hash, ran.query_string) == ("hash-b", "page=b&lr=0.1")
    assert ran.fragment_id_queue == []  # still the whole page


def test_other_reruns_still_fold_as_streamlit_folds_them():
    # a click after a pending full rerun: the newer request's page wins, as in Streamlit
    full = RerunData(query_string="x=1", page_script_hash="hash-a")
    click = RerunData(query_string="x=2", page_script_hash="hash-b")
    assert _folded(full, click).page_script_hash == "hash-b"
    # a switch after a pending timer rerun: the switch wins and reruns the whole page
    timer = RerunData(page_script_hash="hash-a", fragment_id="frag-a", is_auto_rerun=True)
    switch = RerunData(query_string="page=b", page_script_hash="hash-b")
    ran = _folded(timer, switch)
    assert (ran.page_script_hash, ran.fragment_id_queue) == ("hash-b", [])
    # two timer reruns of fragments: both fragments still run
    one = RerunData(page_script_hash="hash-a", fragment_id="f1", is_auto_rerun=True)
    two = RerunData(page_script_hash="hash-a", fragment_id="f2", is_auto_rerun=True)
    assert _folded(one, two).fragment_id_queue == ["f1", "f2"]

