"""Run and view settings as widgets bound to the URL: one widget per setting of the table
(bn_core/config.py), seeded from the URL (bad values clamped with a notice) and written back,
and the share link."""
from __future__ import annotations

import dataclasses
import math
from typing import Iterable

import streamlit as st

from bn_core.config import CHOICE_LABELS, RunConfig, Setting, setting_for, upgrade_query
from bn_core.markdown import literal
from bn_core.i18n import _
from bnlab_ui import classroom
from bnlab_ui.core import widget_key

def _widget(spec: Setting, key: str, container, label: str | None = None,
            names: dict | None = None):
    label = _(label or spec.label)
    help_ = _(spec.help) if spec.help else None
    if spec.kind in (int, float) and spec.choices is None and spec.lo == spec.hi:
        # one value possible (a layer slider on a one-layer net): a slider would need min < max
        container.caption(_("{setting}: **{value}**, the only value with these settings.").format(
            setting=label, value=spec.format(spec.kind(spec.lo))))
        return spec.kind(spec.lo)
    if spec.kind is bool:
        return container.toggle(label, key=key, help=help_)
    names = names or CHOICE_LABELS.get(spec.name, {})
    if spec.choices is not None and spec.kind is tuple:
        return tuple(container.multiselect(label, spec.choices, key=key, help=help_,
                                           format_func=lambda c: _(str(names.get(c, c)))))
    if spec.choices is not None:
        return container.selectbox(label, spec.choices, key=key, help=help_,
                                   format_func=lambda c: _(str(names.get(c, c))))
    if spec.kind is tuple:
        text = container.text_input(label, key=key, help=help_)
        return text
    if spec.kind is int:
        span = spec.hi - spec.lo
        if span <= 1000:
            return container.slider(label, int(spec.lo), int(spec.hi), key=key,
                                    help=help_)
        return container.number_input(label, int(spec.lo), int(spec.hi), step=1, key=key,
                                      help=help_)
    if spec.log:
        return container.select_slider(label, options=_log_options(spec), key=key,
                                       help=help_, format_func=lambda v: f"{v:g}")
    step = _float_step(spec)
    return container.slider(label, float(spec.lo), float(spec.hi), step=step, key=key,
                            help=help_)


def _float_step(spec: Setting) -> float:
    span = spec.hi - spec.lo
    return 0.01 if span <= 2 else 0.05 if span <= 10 else 0.5 if span <= 50 else 1.0


def _log_options(spec: Setting) -> list[float]:
    """A 1-2-5 ladder between lo and hi, plus the default."""
    out, decade = set(), math.floor(math.log10(spec.lo))
    while 10 ** decade <= spec.hi * 10:
        for m in (1, 2, 3, 5):
            v = float(f"{m * 10 ** decade:.6g}")
            if spec.lo <= v <= spec.hi:
                out.add(v)
        decade += 1
    out.add(float(spec.default))
    return sorted(out)


def _snap_to_widget(spec: Setting, value):
    """Put a valid value on the widget's grid (log ladders, slider steps)."""
    if spec.kind is float and spec.log:
        opts = _log_options(spec)
        if value not in opts:
            return min(opts, key=lambda o: abs(math.log(o) - math.log(max(value, 1e-12))))
    if spec.kind is tuple and spec.choices is None:
        return spec.format(value)
    return value


def set_setting(name: str, value, view: bool = False) -> None:
    """Set a run setting's widget (or, with `view`, a view setting's) from a page's own button
    or callback (e.g. "paper length")."""
    st.session_state[widget_key("view" if view else "cfg", name)] = value


def _settings_with_url(specs: Iterable[Setting], base: dict, prefix: str) -> None:
    """Seed each widget that has no state yet (a session's first view of this page, or a page
    just navigated to: Streamlit drops the state of widgets a page does not draw) from the URL,
    clamping bad values; the notices are kept to show until the next seeding."""
    notices, seeded = [], False
    query = upgrade_query(st.query_params)  # older links give the run they gave then
    held = classroom.held_by_class()
    for spec in specs:
        key = widget_key(prefix, spec.name)
        if key in st.session_state:
            if held:
                # the class's value, set again so that this run draws the widget with it: a
                # value set in a run that a rerun cut short before its widget was drawn is
                # drawn later as the widget's old value, and the browser kept showing its
                # own (a follower's slider at 0 beside a run at the class's 1, under load)
                st.session_state[key] = st.session_state[key]
            continue
        seeded = True
        value = base[spec.name]
        if spec.url in query:
            value, notice = spec.coerce(query[spec.url])
            if notice:
                notices.append(notice)
        st.session_state[key] = _snap_to_widget(spec, value)
    if seeded:
        st.session_state[widget_key(prefix, "_notices")] = notices


def _write_url(specs: Iterable[Setting], values: dict, defaults: dict) -> None:
    for spec in specs:
        value = values[spec.name]
        if value == defaults[spec.name]:
            if spec.url in st.query_params:
                del st.query_params[spec.url]
        else:
            text = spec.format(value)
            if st.query_params.get(spec.url) != text:
                st.query_params[spec.url] = text


def config_controls(base: RunConfig, names: list[str], container=None,
                    labels: dict[str, str] | None = None,
                    limits: dict[str, dict] | None = None) -> RunConfig:
    """Widgets for the named run settings over a page's base config, bound to the URL.

    A URL value out of range or of the wrong type is clamped or reset, with a notice.
    `limits` narrows a setting for this page, e.g. {"probe_unit": {"hi": 99}} or
    {"dataset": {"choices": ("mnist-subset",)}}; its default becomes the page's base value."""
    container = container or st.sidebar
    specs = [dataclasses.replace(setting_for(n, base.nets), default=getattr(base, n),
                                 **(limits or {}).get(n, {}))
             for n in names]
    base_values = base.to_dict()
    base_values = {k: tuple(v) if isinstance(v, list) else v for k, v in base_values.items()}
    _settings_with_url(specs, base_values, "cfg")
    values = dict(base_values)
    for spec in specs:
        raw = _widget(spec, widget_key("cfg", spec.name), container, (labels or {}).get(spec.name))
        if spec.kind is tuple and spec.choices is None:
            raw, notice = spec.coerce(raw)
            if notice:
                container.warning(notice)
        if spec.kind is tuple and spec.choices is not None and not raw:
            container.warning(_("{setting}: choose at least one; using {value}.").format(
                setting=_(spec.label), value=spec.format(base_values[spec.name])))
            raw = base_values[spec.name]
        values[spec.name] = raw
    if values["probe_unit"] >= values["width"]:
        values["probe_unit"] = values["width"] - 1
    try:
        config = RunConfig.from_dict(values)
    except ValueError as exc:  # a combination the table alone cannot rule out
        st.warning(_("{problem}. Using the page's defaults instead.").format(problem=literal(exc)))
        config = base
    _write_url(specs, config.to_dict() | {k: tuple(v) for k, v in config.to_dict().items()
                                            if isinstance(v, list)}, base_values)
    classroom.republish()
    for notice in st.session_state.get(widget_key("cfg", "_notices"), []):
        st.warning(notice, icon=":material/link_off:")
    return config


def view_controls(specs: list[Setting], container=None,
                  choice_labels: dict[str, dict] | None = None,
                  labels: dict[str, dict] | None = None) -> dict:
    """Widgets for display-only options (layer shown, pooled or one unit, ...), bound to the URL.
    `choice_labels` (or `labels`) names a page's own choices for students: {"setup":
    {"figure1": "Figure 1 net"}}; the URL keeps the short names."""
    choice_labels = {**(labels or {}), **(choice_labels or {})}
    container = container or st.sidebar
    defaults = {s.name: s.default for s in specs}
    _settings_with_url(specs, defaults, "view")
    values = {}
    for spec in specs:
        raw = _widget(spec, widget_key("view", spec.name), container,
                      names=(choice_labels or {}).get(spec.name))
        value, notice = (spec.coerce(raw) if spec.kind is tuple and spec.choices is None
                         else (raw, None))
        if notice:
            container.warning(notice)
        values[spec.name] = value
    _write_url(specs, values, defaults)
    classroom.republish()
    for notice in st.session_state.get(widget_key("view", "_notices"), []):
        st.warning(notice, icon=":material/link_off:")
    return values


def view_values(specs: Iterable[Setting]) -> dict:
    """View settings read from the URL with no widget (clamped or reset, silently): a stepped
    lesson draws only the settings of the section it shows, and may still need the others'."""
    query = upgrade_query(st.query_params)
    return {spec.name: spec.coerce(query[spec.url])[0] if spec.url in query else spec.default
            for spec in specs}


def share_link(container=None) -> None:
    """The page's permalink (all settings are in the URL) with a copy button."""
    container = container or st.sidebar
    base = st.context.url or ""
    query = "&".join(f"{k}={v}" for k, v in st.query_params.to_dict().items())
    container.caption(_("Link to these exact settings (copy with the button):"))
    container.code(base + (f"?{query}" if query else ""), language=None)
