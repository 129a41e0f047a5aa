"""For the teacher: what this server is training, for whom, and what it costs."""
import streamlit as st

import bnlab_ui as ui
from bn_core.engine.server_health import process_health
from bn_core.i18n import N_, _
from bnlab_ui import language, roles

ui.page_header(
    N_("Server status"), N_("for teachers"),
    N_("What this BN Lab server is doing right now: every kept run, who is watching it, the "
       "training processes and what they cost. Students with the same settings share one run; "
       "runs train in worker processes, paced runs costing only the CPU they use."),
    icon=":material/monitor_heart:")

# The tables' column names and a run's status words, as a person reads them.
RUN_COLUMNS = {"data": N_("data"), "nets": N_("nets"), "net": N_("net"), "status": N_("status"),
               "step": N_("step"), "steps": N_("steps"), "steps_per_s": N_("steps_per_s"),
               "pace": N_("pace"), "viewers": N_("viewers"), "queue": N_("queue"),
               "host": N_("host"), "memory_mib": N_("memory_mib")}
STATUS_WORDS = {"loading": N_("loading"), "queued": N_("queued"), "running": N_("running"),
                "paused": N_("paused"), "finished": N_("finished"), "stopped": N_("stopped"),
                "failed": N_("failed")}
REFRESH_COLUMNS = {"page": N_("page"), "refreshes": N_("refreshes"), "mean_ms": N_("mean_ms"),
                   "max_ms": N_("max_ms"), "cpu_ms": N_("cpu_ms")}


def shown(row: dict, columns: dict) -> dict:
    """A table row with its column names (and a run's status) in the session's language."""
    out = {}
    for k, v in row.items():
        if k == "key":
            continue
        if k == "status":
            v = _(STATUS_WORDS.get(v, v))
        elif k == "page":
            v = _(v)          # a lesson's English title, as its page shows it
        out[_(columns[k]) if k in columns else k] = v
    return out


with ui.guard(N_("the server status page")):
    registry = ui.get_registry()

    @st.fragment(run_every=2.0)
    def status():
        language.apply()
        health = process_health()
        rows = registry.summary()
        hosts = registry.backend.rows()
        cols = st.columns(5)
        cols[0].metric(_("Runs kept"), _("{kept} of {most}").format(kept=len(rows),
                                                                    most=registry.max_runs))
        cols[1].metric(_("Training now"),
                       sum(r["status"] in ("loading", "running") for r in rows))
        cols[2].metric(_("Queued"), sum(r["status"] == "queued" for r in rows))
        cols[3].metric(_("Web server memory"), f"{health['rss_mib']:.0f} MiB")
        cols[4].metric(_("Web server threads"), f"{health['threads']}")
        if hosts:
            st.markdown(_("**Training hosts** ({backend}): CPU load is the fraction of one core "
                          "used over the last second.").format(backend=registry.backend.name))
            st.table([{_("host"): h.get("host"), _("pid"): h.get("pid"),
                       _("CPU load"): f"{h.get('load', 0):.0%}",
                       _("memory (MiB)"): round(h.get("rss_mib", 0)),
                       _("runs"): h.get("runs"),
                       _("paced demand"): f"{h.get('paced_load', 0):.0%}",
                       _("unpaced runs"): h.get("unpaced")} for h in hosts])
        if rows:
            st.table([shown(r, RUN_COLUMNS) for r in rows])
        else:
            st.info(_("No runs yet: open a lesson page to start one."))
        refresh = ui.REFRESH_TIMES.table()
        if refresh:
            st.markdown(_("**Server time per live refresh**, by page (what one viewer's refresh "
                          "costs the server): mean_ms and max_ms are wall time, cpu_ms the part "
                          "the refresh computed; the rest it waited for a core."))
            st.table([shown(r, REFRESH_COLUMNS) for r in refresh])
        st.caption(_("CPU time used by the web server so far: {cpu:.1f} s. A run nobody watches "
                     "pauses after {idle:.0f} s and goes on when someone opens it again.").format(
                         cpu=health["cpu_seconds"], idle=registry.idle_timeout or 0))

    status()
    roles.teacher_panel()
    if roles.teacher_key() is None:
        st.info(_("No teacher key is set on this server, so nobody has the teacher's powers "
                  "(leading the class, questions, stopping every run). To set one, start the "
                  "server with `BNLAB_TEACHER_KEY=<a key> streamlit run app.py`, or put "
                  "`teacher_key = \"<a key>\"` in `.streamlit/secrets.toml`."),
                icon=":material/key:")
    elif roles.is_teacher():
        if st.button(_("Stop every run"), icon=":material/stop:"):
            n = registry.stop_all("stopped by the teacher")
            st.toast(_("{n} runs stopped.").format(n=n))
    else:
        st.caption(_("Stopping every run is the teacher's: sign in with the teacher key in the "
                     "sidebar."))
