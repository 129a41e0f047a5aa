"""Generated from the settings table: every page, every run setting it shows, opened with the
setting's minimum, maximum and a middle value in the URL (every choice of a choice setting):
no exception, no error boundary tripped, every widget valid. The same for each page's own view
settings (layer shown, batch of the BN layer page, ...), their ranges read off their widgets.
The page only has to render: each case's run is stopped (the registry is shut down) before the
next."""
from __future__ import annotations

import ast
import math

import pytest

from bn_core.config import SETTINGS
from pagetest import ROOT, WIDGET_KINDS, clean_registry, fresh_registry, open_page  # noqa: F401

pytestmark = pytest.mark.slow

PAGES = [
    ("pages/1_Figure_1_live.py", {}),
    ("pages/2_Covariate_shift.py", {}),
    ("pages/2_Covariate_shift.py", {"part": "whitening"}),
    ("pages/3_Internal_covariate_shift.py", {}),
    ("pages/4_Gamma_and_beta.py", {}),
    ("pages/5_Shuffling.py", {}),
    ("pages/6_Gradients_and_learning_rates.py", {}),
    ("pages/8_Does_BN_reduce_ICS.py", {}),
    ("pages/8_Does_BN_reduce_ICS.py", {"setup": "deep-linear"}),
    ("pages/10_Which_part_of_BN.py", {}),
    ("pages/10_Which_part_of_BN.py", {"setup": "deep-sigmoid"}),
    ("pages/11_Small_batches.py", {}),
    ("pages/12_Convolutional_BN.py", {}),
    ("pages/12_Convolutional_BN.py", {"setup": "relu"}),
    ("pages/13_Your_own_data.py", {}),
]
GUARD_TEXT = "Something went wrong"  # what bnlab_ui.guard shows in place of a traceback


def url_values(spec) -> list[str]:
    """The setting's minimum, a middle value and its maximum as URL text (or every choice)."""
    if spec.kind is bool:
        return ["0", "1"]
    if spec.choices is not None:
        if spec.kind is tuple:
            return [",".join(spec.choices[:k]) for k in range(1, len(spec.choices) + 1)]
        return list(spec.choices)
    mid = math.sqrt(spec.lo * spec.hi) if spec.log else (spec.lo + spec.hi) / 2
    if spec.kind is tuple:
        return [spec.format(v) for v in ((spec.lo,), (spec.hi,), (spec.lo, mid, spec.hi))]
    return [spec.format(spec.kind(v)) for v in (spec.lo, int(mid) if spec.kind is int else mid,
                                                spec.hi)]


def shown_settings(at, prefix: str = "cfg") -> list[str]:
    """The settings whose widgets the page drew ("<page title>|cfg:<name>", or "|view:")."""
    return list(shown_widgets(at, prefix))


def shown_widgets(at, prefix: str = "cfg") -> dict:
    out = {}
    for kind in WIDGET_KINDS:
        for w in at.get(kind):
            key = getattr(w, "key", None) or ""
            if f"|{prefix}:" in key:
                out[key.split(f"|{prefix}:")[1]] = (kind, w)
    return out


def view_urls(page: str) -> dict[str, str]:
    """name -> URL key of the view settings a page declares (its `Setting(...)` calls)."""
    urls = {}
    for node in ast.walk(ast.parse((ROOT / page).read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Setting":
            kw = {k.arg: k.value for k in node.keywords}
            name = node.args[0] if node.args else kw.get("name")
            url = kw.get("url")
            if isinstance(name, ast.Constant) and isinstance(url, ast.Constant):
                urls[name.value] = url.value
    return urls


def widget_values(kind: str, w) -> list[str]:
    """A view widget's minimum, middle and maximum (or every option) as URL text."""
    if kind in ("toggle", "checkbox"):
        return ["0", "1"]
    if kind in ("selectbox", "radio"):
        return [str(o) for o in w.options]
    if kind == "select_slider":
        return [str(w.options[i]) for i in (0, len(w.options) // 2, len(w.options) - 1)]
    if kind in ("slider", "number_input"):
        cast = type(w.value)
        return [f"{cast(v):g}" if cast is float else str(cast(v))
                for v in (w.min, (w.min + w.max) / 2, w.max)]
    return []


def widget_problems(at) -> list[str]:
    """Widgets whose value is outside their own range or options."""
    bad = []
    for kind in WIDGET_KINDS + ("segmented_control",):
        for w in at.get(kind):
            key = getattr(w, "key", None) or kind
            try:
                value = w.value
            except Exception as exc:  # a value the widget cannot even decode
                bad.append(f"{key}: {type(exc).__name__}: {exc}")
                continue
            if kind == "slider":
                lo, hi = w.min, w.max
                values = value if isinstance(value, (tuple, list)) else (value,)
                if not lo < hi or not all(lo <= v <= hi for v in values):
                    bad.append(f"{key}: {value} not in [{lo}, {hi}]")
            elif kind == "number_input":
                if value is None or not w.min <= value <= w.max:
                    bad.append(f"{key}: {value} not in [{w.min}, {w.max}]")
            elif kind == "select_slider":
                if len(w.options) < 2:
                    bad.append(f"{key}: {len(w.options)} option(s)")
            elif kind in ("selectbox", "radio"):
                if w.index is None or not 0 <= w.index < len(w.options):
                    bad.append(f"{key}: index {w.index} of {len(w.options)} options")
            elif kind == "multiselect":
                if not value:
                    bad.append(f"{key}: nothing chosen")
    return bad


def case_problems(page: str, query: dict, name: str, prefix: str = "cfg") -> list[str]:
    try:
        at = open_page(page, query)
        problems = [f"exception: {e.value}" for e in at.exception]
        problems += [f"error: {e.value[:200]}" for e in at.error if GUARD_TEXT in e.value]
        problems += widget_problems(at)
        if name not in shown_settings(at, prefix):
            problems.append(f"the {name} widget is gone")
        return problems
    finally:
        fresh_registry()


PAGE_IDS = [p.split("/")[-1][:-3] + ("-" + "-".join(e.values()) if e else "") for p, e in PAGES]
# a stepped lesson draws only the shown section's view settings: open each group of sections
INSIDE_BN = [("pages/7_Inside_the_BN_layer.py", {}),
             ("pages/7_Inside_the_BN_layer.py", {"section": "running"}),
             ("pages/7_Inside_the_BN_layer.py", {"section": "conv"})]
VIEW_PAGES = PAGES + INSIDE_BN
VIEW_IDS = PAGE_IDS + ["7_Inside_the_BN_layer" + ("-" + e["section"] if e else "")
                       for _, e in INSIDE_BN]


@pytest.mark.parametrize("page,extra", PAGES, ids=PAGE_IDS)
def test_every_setting_the_page_shows_survives_its_min_max_and_middle(page, extra):
    at = open_page(page, extra)
    names = shown_settings(at)
    fresh_registry()
    assert names, "the page shows no run settings"
    failures = []
    for name in names:
        spec = SETTINGS[name]
        for raw in url_values(spec):
            query = {**extra, spec.url: raw}
            for problem in case_problems(page, query, name):
                failures.append(f"{spec.url}={raw}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("page,extra", VIEW_PAGES, ids=VIEW_IDS)
def test_every_view_setting_the_page_shows_survives_its_min_max_and_middle(page, extra):
    at = open_page(page, extra)
    widgets = shown_widgets(at, "view")
    fresh_registry()
    urls = view_urls(page)
    failures, tried = [], 0
    for name, (kind, w) in widgets.items():
        if name not in urls and name in SETTINGS:
            urls[name] = SETTINGS[name].url  # a run setting shown as a view keeps its URL key
        if name not in urls:
            failures.append(f"{name}: no URL key found in the page's Setting(...) calls")
            continue
        for raw in widget_values(kind, w):
            tried += 1
            for problem in case_problems(page, {**extra, urls[name]: raw}, name, "view"):
                failures.append(f"{urls[name]}={raw}: {problem}")
    assert not failures, "\n".join(failures)
    assert tried or not widgets
