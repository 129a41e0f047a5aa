"""The page's language: English or 简体中文, chosen in the sidebar or by `?lang=zh` in the URL,
remembered per session; a new session starts in the browser's language (st.context.locale) if
BN Lab speaks it, else English. `setup()` runs at the start of every script run (the lesson
frame and app.py call it) and `apply()` at the start of every fragment run: a fragment may run in
another thread, and the language lives in a ContextVar (bn_core.i18n), never shared between
sessions."""
from __future__ import annotations

import streamlit as st

from bn_core import i18n
from bn_core.i18n import _

URL_KEY = "lang"
STATE_KEY = "_bnlab_lang"
WIDGET_KEY = "_bnlab_lang_choice"


def browser_language() -> str | None:
    """The browser's language if BN Lab speaks it (None outside a browser session)."""
    try:
        return i18n.normalise(st.context.locale)
    except Exception:
        return None


def setup() -> str:
    """Decide this run's language (URL, then this session's choice, then the browser), keep it
    for the session and in the URL, and make it the language of this thread's work."""
    asked = i18n.normalise(st.query_params.get(URL_KEY))
    lang = asked or st.session_state.get(STATE_KEY) or browser_language() or i18n.SOURCE
    st.session_state[STATE_KEY] = lang
    if asked is None and lang != i18n.SOURCE:
        st.query_params[URL_KEY] = lang      # a shared link opens in the same language
    i18n.set_language(lang)
    return lang


def apply() -> str:
    """At the start of a fragment run: this session's language for this thread."""
    return i18n.set_language(st.session_state.get(STATE_KEY))


def current() -> str:
    return i18n.get_language()


def _chosen() -> None:
    lang = i18n.normalise(st.session_state.get(WIDGET_KEY)) or i18n.SOURCE
    st.session_state[STATE_KEY] = lang
    if lang == i18n.SOURCE:
        st.query_params.pop(URL_KEY, None)
    else:
        st.query_params[URL_KEY] = lang
    i18n.set_language(lang)


def selector(container=None) -> None:
    """The language choice at the top of the sidebar (English, 简体中文)."""
    container = container or st.sidebar
    lang = setup()
    st.session_state[WIDGET_KEY] = lang
    container.segmented_control(
        _("Language"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, key=WIDGET_KEY,
        on_change=_chosen, selection_mode="single", label_visibility="collapsed")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def streamlit_words_css() -> str:
    """Streamlit's own words in its file uploader (the button's "Upload" and "5MB per file")
    are English in every language, and Streamlit cannot translate them: in another language
    they are hidden and the catalogue's words drawn in their place (a style, no element). ""
    in English."""
    if current() == i18n.SOURCE:
        return ""
    upload = _css_string(_("Upload"))
    limit = _css_string(_("{mb}MB per file").format(mb=st.get_option("server.maxUploadSize")))
    zone = "[data-testid='stFileUploaderDropzone']"
    rules = "\n".join((
        f"{zone} button [data-testid='stMarkdownContainer'] p {{display: none;}}",
        f"{zone} button [data-testid='stMarkdownContainer']::after {{content: {upload};}}",
        "[data-testid='stFileUploaderDropzoneInstructions'] span {display: none;}",
        "[data-testid='stFileUploaderDropzoneInstructions'] > div::after "
        f"{{content: {limit}; font-size: 0.875rem; color: rgba(49, 51, 63, 0.6);}}",
    ))
    return f"<style>\n{rules}\n</style>"


def without_lang(query: dict) -> dict:
    """URL parameters that describe the experiment (the class shares them), not the language
    (each student keeps their own)."""
    return {k: v for k, v in query.items() if k != URL_KEY}


def with_own_lang(query: dict) -> dict:
    """`query` with this session's language added (when it is not English)."""
    out = without_lang(query)
    lang = st.session_state.get(STATE_KEY)
    if lang and lang != i18n.SOURCE:
        out[URL_KEY] = lang
    return out
