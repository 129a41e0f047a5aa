"""BN Lab's languages: gettext catalogues (domain 'bnlab', English is the source language) and
the current language of this thread's work, kept in a ContextVar so that concurrent Streamlit
sessions (each in its own script thread) never see each other's language.

    from bn_core.i18n import _, ngettext, N_
    _("Training accuracy")                       # translated now, in the current language
    _("{net} diverged at step {step}").format(net=..., step=...)   # whole sentences, named slots
    N_("Figure 1, live")                         # marked for extraction, translated when shown

Catalogues: locales/<lang>/LC_MESSAGES/bnlab.po in the repo, compiled in memory with Babel the
first time a language is used (so a .mo can never be stale). Maintenance:

    python -m bn_core.i18n extract    # scan the source into locales/bnlab.pot
    python -m bn_core.i18n update     # merge the .pot into every locale's .po
    python -m bn_core.i18n compile    # check every .po compiles (writes the .mo next to it)
    python -m bn_core.i18n check      # missing, stale, fuzzy or empty messages; exit 1 if any
"""
from __future__ import annotations

import contextlib
import contextvars
import gettext
import io
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
DOMAIN = "bnlab"
POT = LOCALES / f"{DOMAIN}.pot"
SOURCE = "en"
LANGUAGES = {"en": "English", "zh": "简体中文"}
# What gets scanned for messages: the frame, the engine's texts a student reads, the pages.
SCAN = ["app.py", "pages", "bnlab_ui", "bn_core"]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}

_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("bnlab_lang", default=SOURCE)
_catalogues: dict[str, gettext.NullTranslations] = {}
_lock = threading.Lock()


def normalise(lang) -> str | None:
    """'zh', 'zh-CN', 'zh_Hans_CN' -> 'zh'; 'en-GB' -> 'en'; anything else -> None."""
    if not lang:
        return None
    head = str(lang).strip().replace("_", "-").split("-")[0].lower()
    return head if head in LANGUAGES else None


def set_language(lang) -> str:
    """Make `lang` the language of this thread's (context's) work; unknown means English."""
    code = normalise(lang) or SOURCE
    _LANG.set(code)
    return code


def get_language() -> str:
    return _LANG.get()


@contextlib.contextmanager
def language(lang):
    """Translate in `lang` inside the block (tests, exports), then restore the previous one."""
    token = _LANG.set(normalise(lang) or SOURCE)
    try:
        yield
    finally:
        _LANG.reset(token)


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compile(lang: str) -> gettext.NullTranslations:
    """The .po compiled in memory with Babel (fuzzy entries are left out, as msgfmt does)."""
    path = po_path(lang)
    if lang == SOURCE or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def catalogue(lang: str | None = None) -> gettext.NullTranslations:
    lang = lang or get_language()
    found = _catalogues.get(lang)
    if found is None:
        with _lock:
            found = _catalogues.get(lang)
            if found is None:
                found = _catalogues[lang] = _compile(lang)
    return found


def reload() -> None:
    """Forget the compiled catalogues (after editing a .po in a running server or a test)."""
    with _lock:
        _catalogues.clear()


def _(message: str) -> str:
    """`message` (English) in the current language."""
    if not message:
        return message
    return catalogue().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return catalogue().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction only; translate it with _() where it is shown."""
    return message


# ---------------------------------------------------------------------------- maintenance

def extract():
    """A Babel catalogue of every message marked in the source."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="BN Lab", domain=DOMAIN, charset="utf-8")
    for entry in SCAN:
        path = ROOT / entry
        if path.is_file():
            from babel.messages.extract import extract_from_file

            found = ((path.name, *m) for m in extract_from_file("python", path, KEYWORDS,
                                                                 comment_tags=("i18n:",)))
            base = ""
        else:
            found = extract_from_dir(path, method_map=[("**.py", "python")],
                                     keywords=KEYWORDS, comment_tags=("i18n:",))
            base = entry + "/"
        for filename, lineno, message, comments, context in found:
            rel = base + filename if base else filename
            if Path(rel).parts[:2] == ("bn_core", "i18n.py"):
                continue
            catalog.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return catalog


def write_pot(catalog=None) -> Path:
    from babel.messages.pofile import write_po

    catalog = catalog or extract()
    POT.parent.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as f:
        write_po(f, catalog, omit_header=False, sort_output=True, width=100, no_location=True)
    return POT


def update() -> list[Path]:
    """Merge the source's messages into every locale's .po (new ones empty, gone ones dropped)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = extract()
    written = []
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        path = po_path(lang)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=lang, domain=DOMAIN)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="BN Lab")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, sort_output=True, width=100, no_location=True,
                     ignore_obsolete=True)
        written.append(path)
    return written


def compile_all() -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for lang in LANGUAGES:
        path = po_path(lang)
        if lang == SOURCE or not path.exists():
            continue
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        for message in catalog:  # messages use str.format: a "95%" in one is not a %-format
            message.flags.discard("python-format")
        errors = [(m.id, e) for m, es in catalog.check() for e in es]
        if errors:
            raise SystemExit(f"{path}: {errors[:5]}")
        with path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(path.with_suffix(".mo"))
    reload()
    return written


def problems(lang: str, path: Path | None = None, source=None) -> list[str]:
    """What is wrong with a locale's catalogue (its .po, or `path`) against the source's
    messages: missing from it, stale (no longer in the source), fuzzy or untranslated, or with
    placeholders that differ from the English."""
    import string

    from babel.messages.pofile import read_po

    source = {m.id for m in (source or extract()) if m.id}
    path = path or po_path(lang)
    if not path.exists():
        return [f"{path} does not exist"]
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    found = {m.id: m for m in catalog if m.id}
    out = []
    key = lambda i: i if isinstance(i, str) else i[0]  # noqa: E731
    src_keys = {key(i) for i in source}
    for i in sorted(src_keys - {key(i) for i in found}):
        out.append(f"missing: {i!r}")
    for i, m in found.items():
        if key(i) not in src_keys:
            out.append(f"stale: {key(i)!r}")
            continue
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        if m.fuzzy:
            out.append(f"fuzzy: {key(i)!r}")
        if not all(strings):
            out.append(f"untranslated: {key(i)!r}")
            continue
        ids = i if isinstance(i, (list, tuple)) else [i]

        def slots(text):
            try:
                return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)
            except ValueError as exc:
                return [f"<bad format: {exc}>"]
        want = slots(ids[-1])
        for s in strings:
            if slots(s) != want:
                out.append(f"placeholders differ: {key(i)!r}: {slots(s)} vs {want}")
    return out


def main(argv=None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "extract":
        print(write_pot())
    elif command == "update":
        write_pot()
        for p in update():
            print(p)
    elif command == "compile":
        for p in compile_all():
            print(p)
    elif command == "check":
        bad = [f"{lang}: {p}" for lang in LANGUAGES if lang != SOURCE for p in problems(lang)]
        print("\n".join(bad) or "catalogues complete")
        return 1 if bad else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
