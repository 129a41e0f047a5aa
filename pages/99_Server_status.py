"""For the teacher: what this server is training, for whom, and what it costs."""
import streamlit as st

import bnlab_ui as ui
from bn_core.engine.server_health import process_health
from bnlab_ui import roles

ui.page_header(
    "Server status", "for teachers",
    "What this BN Lab server is doing right now: every kept run, who is watching it, the "
    "training processes and what they cost. Students with the same settings share one run; "
    "runs train in worker processes, paced runs costing only the CPU they use.",
    icon=":material/monitor_heart:")

with ui.guard("the server status page"):
    registry = ui.get_registry()

    @st.fragment(run_every=2.0)
    def status():
        health = process_health()
        rows = registry.summary()
        hosts = registry.backend.rows()
        cols = st.columns(5)
        cols[0].metric("Runs kept", f"{len(rows)} of {registry.max_runs}")
        cols[1].metric("Training now", sum(r["status"] in ("loading", "running") for r in rows))
        cols[2].metric("Queued", sum(r["status"] == "queued" for r in rows))
        cols[3].metric("Web server memory", f"{health['rss_mib']:.0f} MiB")
        cols[4].metric("Web server threads", f"{health['threads']}")
        if hosts:
            st.markdown(f"**Training hosts** ({registry.backend.name}): CPU load is the "
                        "fraction of one core used over the last second.")
            st.table([{"host": h.get("host"), "pid": h.get("pid"),
                       "CPU load": f"{h.get('load', 0):.0%}",
                       "memory (MiB)": round(h.get("rss_mib", 0)),
                       "runs": h.get("runs"), "paced demand": f"{h.get('paced_load', 0):.0%}",
                       "unpaced runs": h.get("unpaced")} for h in hosts])
        if rows:
            st.table([{k: v for k, v in r.items() if k != "key"} for r in rows])
        else:
            st.info("No runs yet: open a lesson page to start one.")
        refresh = ui.REFRESH_TIMES.table()
        if refresh:
            st.markdown("**Server time per live refresh**, by page (what one viewer's refresh "
                        "costs the server):")
            st.table(refresh)
        st.caption(f"CPU time used by the web server so far: {health['cpu_seconds']:.1f} s. "
                   f"A run nobody watches pauses after {registry.idle_timeout or 0:.0f} s and "
                   "goes on when someone opens it again.")

    status()
    roles.teacher_panel()
    if roles.teacher_key() is None:
        st.info("No teacher key is set on this server, so nobody has the teacher's powers "
                "(leading the class, questions, stopping every run). To set one, start the "
                "server with `BNLAB_TEACHER_KEY=<a key> streamlit run app.py`, or put "
                "`teacher_key = \"<a key>\"` in `.streamlit/secrets.toml`.",
                icon=":material/key:")
    elif roles.is_teacher():
        if st.button("Stop every run", icon=":material/stop:"):
            n = registry.stop_all("stopped by the teacher")
            st.toast(f"{n} runs stopped.")
    else:
        st.caption("Stopping every run is the teacher's: sign in with the teacher key in the "
                   "sidebar.")
