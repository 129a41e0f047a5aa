"""Downloads of a run: its recorded series (CSV) and settings (JSON)."""
from __future__ import annotations

import streamlit as st

from bn_core.engine.records import RunSnapshot
from bn_core.export import series_csv, settings_json, thinning_note
from bn_core.i18n import _
from bnlab_ui import replays

def export_controls(snap: RunSnapshot, name: str, container=None) -> None:
    """Download the recorded series (CSV) and the run (JSON: its settings and its whole record,
    which replays it on this page: sidebar, Show a recorded run); charts have a PNG button."""
    container = container or st
    note = thinning_note(snap)
    if note:
        container.caption(note)
    cols = container.columns(2)
    cols[0].download_button(_("Series (CSV)"), lambda: series_csv(snap), file_name=f"bnlab-{name}.csv",
                            mime="text/csv", icon=":material/download:", key=f"dl:csv:{name}",
                            on_click="ignore")
    page = replays.current_page()
    cols[1].download_button(_("Run (JSON)"), lambda: settings_json(snap, page=page),
                            file_name=f"bnlab-{name}.json", mime="application/json",
                            icon=":material/download:", key=f"dl:json:{name}", on_click="ignore")
