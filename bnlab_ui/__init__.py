"""Streamlit glue shared by every page: settings from the URL, run controls, live refresh,
exports, and an error boundary. The engine (bn_core) never imports this; pages stay thin."""
from .core import (
    REFRESH_SECONDS,
    REFRESH_TIMES,
    chart,
    config_controls,
    explain,
    export_controls,
    get_registry,
    guard,
    live_view,
    page_header,
    run_controls,
    set_setting,
    share_link,
    status_line,
    view_controls,
    viewer_id,
)
from .lesson import Lesson

__all__ = [
    "REFRESH_SECONDS", "REFRESH_TIMES", "chart", "config_controls", "explain", "export_controls", "get_registry",
    "guard", "live_view", "page_header", "run_controls", "set_setting", "share_link", "status_line",
    "view_controls", "viewer_id", "Lesson",
]
