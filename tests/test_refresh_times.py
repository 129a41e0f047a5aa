"""The Server status page's refresh table tells a refresh that waited (for a core, the GIL) from
one that computed: wall time and the drawing thread's CPU time, per page."""
from __future__ import annotations

import time

from bnlab_ui.core import RefreshTimes


def test_refresh_times_tell_waiting_from_computing():
    times = RefreshTimes()
    started = times.start()
    time.sleep(0.06)  # a refresh that waits
    times.add("waits", started)
    started = times.start()
    while time.thread_time() - started[1] < 0.04:  # one that computes 40 ms of CPU
        pass
    times.add("computes", started)
    times.add("computes", times.start())  # and a cheap one: the means are per refresh
    rows = {r["page"]: r for r in times.table()}
    assert rows["waits"]["refreshes"] == 1
    assert rows["waits"]["mean_ms"] >= 60 and rows["waits"]["cpu_ms"] < 20
    assert rows["computes"]["refreshes"] == 2
    assert 20 <= rows["computes"]["cpu_ms"] <= rows["computes"]["mean_ms"] + 1
    assert rows["computes"]["max_ms"] >= 40
    times.reset()
    assert times.table() == []
