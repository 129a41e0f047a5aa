"""For the teacher: what this server is training, for whom, and what it costs."""
import streamlit as st

import bnlab_ui as ui
from bn_core.engine.server_health import process_health

ui.page_header(
    "Server status", "for teachers",
    "What this BN Lab server is doing right now: every kept run, who is watching it, and the "
    "process's memory, CPU and threads. Students with the same settings share one run; at most "
    f"{ui.get_registry().max_training} runs train at once and the rest wait in a queue.",
    icon=":material/monitor_heart:")

with ui.guard("the server status page"):
    registry = ui.get_registry()

    @st.fragment(run_every=2.0)
    def status():
        health = process_health()
        rows = registry.summary()
        cols = st.columns(5)
        cols[0].metric("Runs kept", f"{len(rows)} of {registry.max_runs}")
        cols[1].metric("Training now", sum(r["status"] in ("loading", "running") for r in rows))
        cols[2].metric("Queued", sum(r["status"] == "queued" for r in rows))
        cols[3].metric("Memory (RSS)", f"{health['rss_mib']:.0f} MiB")
        cols[4].metric("Threads (training)", f"{health['threads']} ({health['training_threads']})")
        if rows:
            st.table([{k: v for k, v in r.items() if k != "key"} for r in rows])
        else:
            st.info("No runs yet: open a lesson page to start one.")
        refresh = ui.REFRESH_TIMES.table()
        if refresh:
            st.markdown("**Server time per live refresh**, by page (what one viewer's refresh "
                        "costs the server):")
            st.table(refresh)
        st.caption(f"CPU time used by the server so far: {health['cpu_seconds']:.1f} s. "
                   f"Runs nobody watches stop after {registry.idle_timeout or 0:.0f} s.")

    status()
    if st.button("Stop every run", icon=":material/stop:"):
        for run in registry.runs():
            run.stop("stopped by the teacher", wait=None)
        st.toast("All runs stopped.")
