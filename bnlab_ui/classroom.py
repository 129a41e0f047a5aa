"""Pages and the class (bn_core/engine/classroom.py keeps the state).

- The teacher's page is the class's current experiment: while the teacher leads, each rerun of
  their page publishes its page and URL parameters (run and view settings).
- A student's page follows by default: a one-second check in the sidebar sees a new version
  and brings the page to the teacher's page and settings (so the same, shared run), with a
  banner. "Explore on my own" detaches the student (their own runs, starting from a copy of
  the settings); "Back to the class" rejoins.
- Prediction rounds: the teacher asks one of the lesson's questions; students' pages show it
  and hold the run until they answer (or the teacher starts the run); the teacher reveals, and
  every page shows the class's answers beside the answer measured on the run.
"""
from __future__ import annotations

import threading
import time

import streamlit as st
from streamlit.errors import StreamlitAPIException

from bn_core.engine.classroom import classroom_for
from bn_core.lessons import predictions
from bn_core.i18n import _
from bnlab_ui import core, language, roles, streamlit_fixes

FOLLOW_SECONDS = 1.0       # a following page checks the class this often while it presents
IDLE_CHECK_SECONDS = 3.0   # ... and this often while no class is on (a class starting shows)
HEARTBEAT_SECONDS = 2.0
EXPLORE_KEY = "_bnlab_explore"       # page -> True: this session has its own runs there
DETACHED_KEY = "_bnlab_detached"     # True: this student explores instead of following
APPLIED_KEY = "_bnlab_class_version"
HELD_KEY = "_bnlab_held_by_class"    # True: this run's page follows a class that presents
LEAD_KEY = "_bnlab_leading"
PUSHED_KEY = "_bnlab_pushed_version"
PAGE_KEY = "_bnlab_class_page"       # the page this run of the script synced
WRITTEN_KEY = "_bnlab_class_written"  # (page, query): the teacher's URL as their settings wrote it
TARGET_KEY = "_bnlab_class_target"   # ((page, query), tries, when): where _apply sends this page
# A page sent to the class's settings that does not arrive tries MAX_TRIES times at once, then
# 2, 4, 8... s apart, at most RETRY_SECONDS apart (a page that rewrites them must not loop).
MAX_TRIES = 3
RETRY_SECONDS = 30.0
FOLLOWER_SECONDS = 30.0  # a follower not seen for this long is not pushed (its tab is gone)

# The sessions of this server that follow the teacher (session id -> last seen, monotonic):
# when the class's version changes, the teacher's page asks the server to rerun them at once.
# Per process on purpose: a server can rerun only its own sessions; students on another server
# (the Ray backend behind a load balancer) follow by their page's one-second check.
_followers: dict[str, float] = {}
_followers_lock = threading.Lock()


_room = None


def room():
    """The class state kept beside this server's runs (one per process, or the cluster's)."""
    global _room
    if _room is None:
        _room = classroom_for(core.get_registry().backend)
    return _room


def leading() -> bool:
    """Whether this session is the teacher leading the class."""
    return roles.is_teacher() and st.session_state.get(LEAD_KEY, True)


def following() -> bool:
    return not roles.is_teacher() and not st.session_state.get(DETACHED_KEY, False)


def held_by_class() -> bool:
    """Whether this run's page follows the teacher's (its settings are the class's)."""
    return bool(st.session_state.get(HELD_KEY))


def run_scope(page: str) -> str:
    """"" for the shared runs; "explore:<session>" for a student's own runs on this page."""
    explore = st.session_state.get(EXPLORE_KEY, {})
    if st.session_state.get(DETACHED_KEY) or explore.get(page):
        return f"explore:{core.viewer_id()}"
    return ""


def sync(page: str) -> None:
    """Publish (teacher) or follow (student) the class's page and settings."""
    try:
        state = room().state()
    except Exception:  # the classroom is unreachable: the page works on its own
        core.log.exception("classroom unreachable")
        return
    st.session_state[PAGE_KEY] = page
    if roles.is_teacher():
        _teacher_sidebar(page, state)
        if leading():
            publish(page)
            _teacher_heartbeat(page)
        return
    if state["presenting"]:
        _student_banner(state)
    _watch_class(page, state)


def _teacher_heartbeat(page: str) -> None:
    """While the teacher's page is open, the class knows the teacher is there."""
    @st.fragment(run_every=HEARTBEAT_SECONDS)
    def beat():
        publish(page)
        now = room().state()  # the class as it is now: students join and leave while it runs
        st.caption(_("{following} following, {exploring} exploring").format(
            following=now["following"], exploring=now["exploring"]))
        rnd = now.get("round")
        if rnd and rnd["page"] == page:  # answers come in while the teacher talks
            st.caption(_("Question open: {answered} answered").format(answered=rnd["answered"]))

    with st.sidebar:
        beat()


def publish(page: str) -> None:
    """The teacher's page and settings become the class's; a new version reruns this server's
    following students at once. Called at the top of the teacher's page, again once its
    settings widgets have written the URL (a moved slider is in the URL only then), and by the
    heartbeat."""
    if not leading():
        return
    # A run started by the teacher's browser (a fragment's timer, a click) carries the address
    # bar as the browser last had it, which may be older than what the server wrote since: the
    # class gets the query the settings wrote (republish), as long as the page is the same.
    written = st.session_state.get(WRITTEN_KEY)
    query = written[1] if written and written[0] == page else _class_query()
    try:
        version = room().present(page, query)
    except Exception:  # the classroom is unreachable: the page works on its own
        core.log.exception("classroom unreachable")
        return
    if st.session_state.get(PUSHED_KEY) != version:
        st.session_state[PUSHED_KEY] = version
        streamlit_fixes.rerun_sessions(_followers_here())


def republish() -> None:
    """The settings widgets have written this run's URL: publish it (the teacher's moved
    slider reaches the class now, not at the next heartbeat)."""
    page = st.session_state.get(PAGE_KEY)
    if page:
        # kept whether or not this session leads now: a teacher who leads again later must
        # not publish what the settings wrote before
        st.session_state[WRITTEN_KEY] = (page, _class_query())
        publish(page)  # a no-op unless this session leads the class


def _follow_here(on: bool) -> None:
    me = core.viewer_id()
    with _followers_lock:
        if on:
            _followers[me] = time.monotonic()
        else:
            _followers.pop(me, None)


def _followers_here() -> list[str]:
    """This server's following sessions, seen lately and still connected."""
    now = time.monotonic()
    with _followers_lock:
        for sid in [s for s, seen in _followers.items() if now - seen > FOLLOWER_SECONDS
                    or not core.session_active(s)]:
            del _followers[sid]
        return list(_followers)


def _watch_class(page: str, state: dict) -> None:
    """A student's page checks the class every second: a class starting or ending redraws the
    page; a following student is brought to the teacher's page and settings.

    Only a full run of the page decides where it belongs (from the server's own idea of its
    page and URL, never the browser's, which lags): it goes to the class's page and settings
    whenever it is not there; after MAX_TRIES tries in a row without arriving (under load the
    browser's own reruns, with its older address, can undo each), it tries again less often,
    never giving up. The one-second check asks for such a run on a new version or when such a
    later try is due."""
    st.session_state[HELD_KEY] = following() and state["presenting"]
    _follow_here(st.session_state[HELD_KEY])
    if st.session_state[HELD_KEY]:
        target = _class_target(state, page)
        if (page, _class_query()) == target:
            st.session_state.pop(TARGET_KEY, None)
        elif _may_try(target):
            _apply(target, page)
        st.session_state[APPLIED_KEY] = state["version"]

    # each check is a run of the script and a few messages for the browser to take in: with
    # no class on, every student's page need not pay them every second
    @st.fragment(run_every=FOLLOW_SECONDS if state["presenting"] else IDLE_CHECK_SECONDS)
    def check():
        language.apply()
        now = room().state()
        if now["presenting"] != state["presenting"]:
            st.rerun()  # a class began or ended: the whole page changes
        if not now["presenting"]:
            return
        room().seen(core.viewer_id(), "following" if following() else "exploring")
        _follow_here(following())
        if following() and (now["version"] != st.session_state.get(APPLIED_KEY)
                            or _retry_due(st.session_state.get(TARGET_KEY))):
            st.rerun()  # the page's full run brings it to the class (above)

    with st.sidebar:
        check()


def _class_query() -> dict:
    """This page's URL parameters that the class shares: all but the language (each student
    reads in their own)."""
    return language.without_lang(st.query_params.to_dict())


def _class_target(state: dict, page: str) -> tuple:
    """(page, query) the class is on: where a following page belongs."""
    return state["page"] or page, state["query"]


def _retry_due(tried) -> bool:
    """Whether a page that used its MAX_TRIES tries at once without reaching its target
    (`tried`: (target, tries, when)) may be sent again now: 2, 4, 8... s after its last try
    (at most RETRY_SECONDS)."""
    if not tried or tried[1] < MAX_TRIES:
        return False
    return time.monotonic() - tried[2] >= min(RETRY_SECONDS, 2.0 ** (tried[1] - MAX_TRIES + 1))


def _may_try(target) -> bool:
    """Count a try to bring this page to `target`. A rerun can cut a switch short (the
    teacher's next push, the browser's own rerun with its old address), so a page that is not
    where it was sent tries again: at once a few times, then less and less often (a page that
    rewrites the class's settings must not loop), but never giving up (a student left on the
    old settings would watch another run than the class for good)."""
    tried = st.session_state.get(TARGET_KEY)
    if tried and tried[0] == target:
        if tried[1] >= MAX_TRIES and not _retry_due(tried):
            return False
        tries = tried[1]
    else:
        tries = 0
    st.session_state[TARGET_KEY] = (target, tries + 1, time.monotonic())
    return True


def _apply(target: tuple, here: str) -> None:
    """Bring this page (`here`) to the class's (page, query): the settings widgets are redrawn
    from it."""
    page, query = target
    core.forget_setting_widgets()
    query = language.with_own_lang(query)
    if page != here:
        # the home page is app.py's function, not a file: switch_page needs its Page object
        destination = core.NAV_PAGES.get(page, page)
        try:
            st.switch_page(destination, query_params=query)
        except StreamlitAPIException:  # a page this server does not have: stay here
            core.log.warning("the class's page %r is not a page of this app", page[:80])
            return
    st.query_params.clear()
    st.query_params.update(query)
    st.rerun()


def _student_banner(state: dict) -> None:
    if following():
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].info(_("**Following the teacher**: this page shows the class's experiment."),
                     icon=":material/co_present:")
        cols[1].button(_("Explore on my own"), icon=":material/explore:", key="class:detach",
                       on_click=lambda: st.session_state.__setitem__(DETACHED_KEY, True),
                       help=_("Your own copy of these settings: change them freely; your "
                              "runs are yours."))
    else:
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].caption(_("You are exploring on your own; the class goes on without you."))

        def rejoin():
            st.session_state[DETACHED_KEY] = False
            st.session_state[EXPLORE_KEY] = {}
            st.session_state[APPLIED_KEY] = None

        cols[1].button(_("Back to the class"), icon=":material/groups:", key="class:rejoin",
                       on_click=rejoin)


def _teacher_sidebar(page: str, state: dict) -> None:
    with st.sidebar.container(border=True):
        st.markdown(_("**The class**"))
        st.toggle(_("Lead the class (students follow this page)"), key=LEAD_KEY, value=True)
        present = str(st.query_params.get("present", "")) in ("1", "true", "yes")
        if st.toggle(_("Projector view"), value=present, key="class:present") != present:
            if present:
                del st.query_params["present"]
            else:
                st.query_params["present"] = "1"
            st.rerun()
        questions = predictions.for_page(page)
        rnd = state.get("round")
        if questions:
            names = {q.id: q.text for q in questions}
            chosen = st.selectbox(_("Ask the class"), list(names),
                                  format_func=lambda i: _(names[i]),
                                  key="class:question")
            if st.button(_("Ask"), icon=":material/quiz:", key="class:ask"):
                q = predictions.by_id(chosen)
                room().open_round(q.id, page, q.text, q.choices)
                for name, value in q.settings.items():
                    st.query_params[name] = value
                core.forget_setting_widgets()
                st.rerun()
        if rnd and rnd["page"] == page:
            cols = st.columns(3)
            if not rnd["started"]:
                cols[0].button(_("Start run"), key="class:start", on_click=room().start_round)
            if not rnd["revealed"]:
                cols[1].button(_("Reveal"), key="class:reveal", on_click=room().reveal)
            cols[2].button(_("Close"), key="class:close", on_click=room().close_round)


def round_holds_run(page: str) -> bool:
    """A question is open on this page and the teacher has not started its run yet."""
    try:
        rnd = room().state().get("round")
    except Exception:
        return False
    return bool(rnd and rnd["page"] == page and not rnd["started"])


def question_blocks(page: str, snap) -> bool:
    """Show the open question (and, once revealed, the answers beside what the run measured).
    Returns True while this student must answer before seeing the run."""
    try:
        rnd = room().state().get("round")
    except Exception:
        return False
    if not rnd or rnd["page"] != page:
        return False
    question = predictions.by_id(rnd["id"])
    with st.container(border=True):
        st.markdown(_("**Predict:** {question}").format(
            question=core.escape_markdown(_(rnd["question"]))))
        if rnd["revealed"]:
            _reveal(rnd, question, snap)
            return False
        if roles.is_teacher():
            st.caption(_("{answered} answers so far. Start the run when the class is ready, "
                         "then reveal.").format(answered=rnd["answered"]))
            return False
        me = core.viewer_id()
        answered = room().has_answered(me, rnd["id"])
        choice = st.radio(_("Your prediction"), range(len(rnd["choices"])),
                          format_func=lambda i: _(rnd["choices"][i]), key=f"class:answer:{rnd['id']}",
                          index=None, horizontal=True)
        if st.button(_("Submit my answer"), key=f"class:submit:{rnd['id']}",
                     disabled=choice is None):
            room().answer(me, rnd["id"], int(choice))
            answered = True
            st.rerun()
        if not answered:
            st.caption(_("Answer first: the run is shown once you have."))
            return True
        if not rnd["started"]:
            st.caption(_("Thanks: the run starts when the teacher starts it."))
        return False


def _reveal(rnd: dict, question, snap) -> None:
    counts = rnd["counts"] or [0] * len(rnd["choices"])
    total = sum(counts) or 1
    cols = st.columns(2)
    with cols[0]:
        st.markdown(_("**The class predicted**"))
        for label, n in zip(rnd["choices"], counts):
            st.progress(n / total, text=f"{_(label)}: {n} ({n / total:.0%})")
    with cols[1]:
        st.markdown(_("**This run measured**") if hasattr(snap, "step") else
                    _("**Measured on this page**"))
        measured = question.measure(snap) if question is not None else None
        if measured is None:
            step = getattr(snap, "step", None)  # a lesson with no run has no step
            st.caption(_("Not decided yet: the run has not shown it (it is at step "
                         "{step:,}).").format(step=step) if step is not None else
                       _("Not decided with the settings on this page: the question's own "
                         "settings decide it."))
        else:
            index, why = measured
            st.markdown(f"**{_(rnd['choices'][index])}**: {why}")
