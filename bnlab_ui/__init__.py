"""Streamlit glue shared by every page, one job per module: core (the engine's registry, the
viewer, the error boundary), settings (widgets bound to the URL), runs (a page's runs and their
notices), controls (the live control bar), lesson (the frame of a lesson page), charts (figures
to the browser), exports, roles (teacher sign-in), classroom (following the teacher and
predictions). The engine (bn_core) never imports this; pages stay thin."""
import os

# The web server's own torch work (the pages that replay a recorded net: Covariate shift,
# Shuffling, Gradients, ...) is tiny matrix products. With torch's default of a thread per core
# each one waited for a second thread that the training workers or the browsers held off the
# other core: a replayed score took 37 ms instead of 1.45 ms in a live server on 2 cores
# (docs/benchmarks.md section 14). Set before anything here imports torch (the worker processes
# set their own threads; `core.warm_up` sets it again should torch have come first).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from .charts import chart
from .core import (REFRESH_SECONDS, REFRESH_TIMES, explain, get_registry, guard, page_header,
                   viewer_id, widget_key)
from .exports import export_controls
from .lesson import Lesson
from .runs import live_view, run_controls, run_notices, status_line
from .settings import config_controls, set_setting, share_link, view_controls

__all__ = [
    "REFRESH_SECONDS", "REFRESH_TIMES", "Lesson", "chart", "config_controls", "explain",
    "export_controls", "get_registry", "guard", "live_view", "page_header", "run_controls",
    "run_notices", "set_setting", "share_link", "status_line", "view_controls", "viewer_id",
    "widget_key",
]
