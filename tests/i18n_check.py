"""Is any English sentence left in a page shown in Chinese? `english_left(texts)` returns the
stretches of visible text that still read as English: 3 or more ASCII words in a row (words of
2+ letters, not broken by a Chinese character). Numbers, symbols, formula fragments, single
letters (x, m), gamma/beta, units and the proper names below do not count as words, so
"Ioffe & Szegedy (2015), BN, γ = 1.0, 120 ms" is fine and "Train with BN" is not."""
from __future__ import annotations

import re

# Proper names, symbols spelled out, units and formula fragments that stay as they are in Chinese.
ALLOWED = {
    # names of people, data sets, libraries, layers
    "ioffe", "szegedy", "santurkar", "tsipras", "ilyas", "madry", "mnist", "pytorch", "torch",
    "numpy", "plotly", "streamlit", "ray", "relu", "tanh", "sigmoid", "softmax", "sgd", "adam",
    "layernorm", "groupnorm", "batchnorm", "batchnorm1d", "batchnorm2d", "bn", "ics", "nn",
    "cnn", "mlp", "cpu", "gpu", "ram", "rss", "pid", "id", "url", "csv", "json", "png", "http",
    "https", "api", "ok", "vs", "et", "al", "lab", "nips", "icml", "neurips", "arxiv", "pca",
    "zca", "he", "xavier", "glorot", "kaiming", "bnlab", "eval", "train",
    # symbols spelled out and formula fragments
    "gamma", "beta", "epsilon", "eps", "mu", "sigma", "var", "std", "sqrt", "exp", "log", "max",
    "min", "hat", "lr", "lang", "zh", "en", "inf", "nan", "ln", "tr", "dx", "dy",
    # units
    "ms", "kb", "mb", "gb", "px", "fps", "hz", "mhz", "ghz",
}

_ASCII_RUN = re.compile(r"[\x00-\x7f]+")        # a stretch not broken by a non-ASCII character
# Code, not prose: `inline code`, identifiers and paths (teacher_key, app.py, .streamlit/x.toml,
# KEY=value, <a key>).
_CODE = re.compile(r"`[^`]*`|<[^<>\s][^<>]*>|\S*[A-Za-z0-9][_/=]\S*|\S*[A-Za-z0-9]\.[A-Za-z]\S*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]")
MIN_RUN = 3


def english_words(stretch: str, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The English words of an ASCII stretch (names, symbols, units and single letters left
    out)."""
    allowed = ALLOWED | {a.lower() for a in allow}
    prose = _CODE.sub(" ", stretch)
    words = [w for w in _WORD.findall(prose) if len(w) > 1 and w.lower() not in allowed]
    operators = len(re.findall(r"[=*+/^()<>-]", prose))
    if "=" in prose and operators >= len(words):
        return []      # a formula whose variables are words: running = (1 - m) * running + ...
    return words


def english_left(texts, allow=(), min_run: int = MIN_RUN, skip=()) -> list[str]:
    """Every stretch of `texts` (a string or an iterable of strings) with `min_run` or more
    English words in a row; [] when the text is all translated. Texts (or lines) equal to one
    in `skip` are left out (see `settings_texts`)."""
    if isinstance(texts, str):
        texts = [texts]
    allow = {a.lower() for a in allow}
    skip = {" ".join(t.split()) for t in skip}
    found = []
    for text in texts:
        if " ".join(str(text or "").split()) in skip:
            continue
        for stretch in _ASCII_RUN.findall(str(text or "")):
            if len(english_words(stretch, allow)) >= min_run:
                found.append(" ".join(stretch.split()))
    return found


def apptest_texts(at) -> list[str]:
    """What a student reads in an AppTest run, main area and sidebar: markdown, captions,
    headings, notices, widget labels, help and options, tables' headers and cells, charts'
    titles, axes, legends and hover text."""
    from bnlab_ui.charts import shown_figure

    out: list[str] = []
    kinds = ("markdown", "caption", "title", "header", "subheader", "text", "latex",
             "info", "warning", "error", "success", "exception", "code")
    for root in (at.main, at.sidebar):
        for kind in kinds:
            for el in root.get(kind):
                out.append(str(getattr(el, "value", "") or ""))
        for kind in ("button", "checkbox", "toggle", "radio", "selectbox", "multiselect",
                     "slider", "select_slider", "number_input", "text_input", "text_area",
                     "segmented_control", "pills", "download_button", "expander", "tab",
                     "metric", "button_group"):
            for el in root.get(kind):
                proto = getattr(el, "proto", None)
                for attr in ("label", "help", "placeholder"):
                    out.append(str(getattr(proto, attr, "") or getattr(el, attr, "") or ""))
                for option in getattr(proto, "options", []) or []:
                    out.append(str(getattr(option, "content", option)))
                for attr in ("value", "delta"):
                    if kind == "metric":
                        out.append(str(getattr(proto, "body", "")))
        for el in root.get("plotly_chart") + root.get("bidi_component"):
            figure = shown_figure(el)
            if figure is not None:
                out.extend(_figure_texts(figure))
        for el in root.get("dataframe") + root.get("table"):
            try:
                df = el.value
                out.extend(str(c) for c in df.columns)
                out.extend(str(v) for v in df.astype(str).to_numpy().ravel())
            except Exception:
                pass
    return [t for t in out if t]


def _figure_texts(spec: dict) -> list[str]:
    """Titles, axis titles, annotations, legend names and hover templates of a Plotly spec."""
    out = []
    layout = spec.get("layout", {})

    def title(obj):
        t = obj.get("title") if isinstance(obj, dict) else None
        if isinstance(t, dict):
            t = t.get("text")
        if t:
            out.append(str(t))

    title(layout)
    for key, val in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(val, dict):
            title(val)
        if key.startswith("coloraxis") and isinstance(val, dict):
            title(val.get("colorbar", {}))
    for ann in layout.get("annotations", []) or []:
        out.append(str(ann.get("text", "")))
    for trace in spec.get("data", []):
        for attr in ("name", "hovertemplate", "legendgrouptitle"):
            v = trace.get(attr)
            if isinstance(v, dict):
                v = v.get("text")
            if v and (trace.get("showlegend", True) or attr != "name"):
                out.append(str(v))
        text = trace.get("text")
        if isinstance(text, str):
            out.append(text)
        elif isinstance(text, list):
            out.extend(str(t) for t in text if isinstance(t, str))
        if isinstance(trace.get("colorbar"), dict):
            title(trace["colorbar"])
    return out


def settings_texts() -> set[str]:
    """The English labels and help of bn_core.config's settings table (shown in every page's
    sidebar). That table is not marked for translation yet (it belongs to the frame, issue
    13's lead); a page test leaves these out, by exact text, so that it checks its own page,
    and `untranslated_settings` reports them."""
    from bn_core.config import SETTINGS, setting_for

    out = set()
    for spec in SETTINGS.values():
        out |= {spec.label, spec.help or ""}
        variant = setting_for(spec.name, ("plain", "bn"))
        out |= {variant.label, variant.help or ""}
    return {t for t in out if t}


def untranslated_settings(texts) -> list[str]:
    """The settings' texts among `texts` that are still English in the current language."""
    from bn_core.i18n import _

    wanted = settings_texts()
    return sorted({t for t in texts if t in wanted and _(t) == t})
