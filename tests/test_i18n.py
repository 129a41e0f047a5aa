"""BN Lab in Chinese: the catalogue matches the source (nothing missing, stale, fuzzy or empty;
the same placeholders), the language is per thread (sessions never mix), the shared chart style
translates its labels and keeps the English look, and the home page runs in both languages."""
from __future__ import annotations

import shutil
import string
import subprocess
import threading

import pytest
from babel.messages.pofile import read_po, write_po

from bn_core import i18n
from bn_core.i18n import _

ZH_TITLE = "BN 实验室：观察批归一化如何起作用"
EN_TITLE = "BN Lab: watch batch normalization work"


def zh_catalog():
    with i18n.po_path("zh").open("rb") as f:
        return read_po(f, locale="zh", domain=i18n.DOMAIN)


# ---------------------------------------------------------------------------- the catalogue

def test_catalogue_has_every_message_of_the_source_and_no_other():
    assert i18n.problems("zh") == []
    assert len([m for m in zh_catalog() if m.id]) >= 150


def test_the_check_catches_missing_stale_fuzzy_empty_and_placeholder_errors(tmp_path):
    catalog = zh_catalog()
    source = i18n.extract()
    catalog.delete("Training accuracy")                                     # missing
    catalog.add("A sentence nobody wrote", "没人写过的句子")                  # stale
    catalog["Pause"].flags.add("fuzzy")                                     # fuzzy
    catalog["Resume"].string = ""                                           # untranslated
    catalog["Training failed: {reason}"].string = "训练失败：{why}"          # wrong slot
    path = tmp_path / "bnlab.po"
    with path.open("wb") as f:
        write_po(f, catalog)
    found = "\n".join(i18n.problems("zh", path=path, source=source))
    assert "missing: 'Training accuracy'" in found
    assert "stale: 'A sentence nobody wrote'" in found
    assert "fuzzy: 'Pause'" in found
    assert "untranslated: 'Resume'" in found
    assert "placeholders differ: 'Training failed: {reason}'" in found


def test_every_translation_formats_with_the_english_placeholders():
    """Each msgstr takes exactly the msgid's named fields (and their number formats)."""
    def fields(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    checked = 0
    for m in zh_catalog():
        # a plural message (ngettext): each Chinese form against the English plural
        ids = m.id if isinstance(m.id, (list, tuple)) else (m.id,)
        strings = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        if not ids[0] or not fields(ids[-1]):
            continue
        for msgid, msgstr in ((ids[-1], s) for s in strings):
            values = dict.fromkeys(fields(msgid), 1234.5)
            english, chinese = msgid.format(**values), msgstr.format(**values)
            assert fields(msgstr) == fields(msgid), msgid
            assert chinese != english
        checked += 1
    assert checked >= 25


def test_terms_follow_the_glossary():
    """The field's standard terms, the same everywhere (docs/glossary-zh.md)."""
    with i18n.language("zh"):
        assert "批归一化" in _("Two small networks learn the two moons right now, from the same "
                              "weights on the same batches: one plain, one with **batch "
                              "normalization** (BN). Every difference you see is BN's.")
        assert _("Internal covariate shift") == "内部协变量偏移"
        assert _("Gradients and learning rates") == "梯度与学习率"
        assert "缩放与平移" in _("Scale and shift only")
    glossary = (i18n.ROOT / "docs" / "glossary-zh.md").read_text(encoding="utf-8")
    for term in ("批归一化", "内部协变量偏移", "激活函数", "学习率", "小批量", "缩放与平移"):
        assert term in glossary


# ---------------------------------------------------------------------------- the language

def test_english_is_the_source_and_unknown_languages_fall_back_to_it():
    assert _("Training accuracy") == "Training accuracy"
    with i18n.language("zh-CN"):
        assert _("Training accuracy") == "训练准确率"
        assert _("a string that is in no catalogue") == "a string that is in no catalogue"
    with i18n.language("fr"):
        assert i18n.get_language() == "en" and _("Pause") == "Pause"
    assert i18n.normalise("zh_Hans_CN") == "zh" and i18n.normalise("en-GB") == "en"
    assert i18n.normalise("") is None and i18n.normalise("de") is None


def test_two_threads_with_different_languages_do_not_mix():
    """Two sessions' script threads translating at the same moment each get their own language;
    a new thread starts in English whatever its parent chose."""
    barrier = threading.Barrier(2)
    results: dict[str, set] = {}

    def session(lang):
        i18n.set_language(lang)
        seen = set()
        for _i in range(200):
            barrier.wait(timeout=30)   # both threads translate in lockstep
            seen.add((i18n.get_language(), _("Pause"), _("{viewers} watching")))
        results[lang] = seen

    threads = [threading.Thread(target=session, args=(lang,)) for lang in ("en", "zh")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results["en"] == {("en", "Pause", "{viewers} watching")}
    assert results["zh"] == {("zh", "暂停", "{viewers} 人在看")}

    with i18n.language("zh"):
        child = []
        t = threading.Thread(target=lambda: child.append((i18n.get_language(), _("Pause"))))
        t.start()
        t.join(timeout=30)
        assert child == [("en", "Pause")] and _("Pause") == "暂停"


def test_home_sentence_is_translated_whole():
    from types import SimpleNamespace

    import numpy as np

    from bn_core.lessons.home import accuracy_rows, page_name

    view = SimpleNamespace(label="BN", status_text="training",
                           evals={"train_acc": np.array([0.5, 0.875]), "step": np.array([0, 1200])})
    snap = SimpleNamespace(nets={"bn": view})
    assert accuracy_rows(snap) == ["- **BN**: 88% of training points right at step 1,200 (training)"]
    with i18n.language("zh"):
        assert accuracy_rows(snap) == ["- **BN**：第 1,200 步时训练点的正确率为 88%（training）"]
        assert page_name("3_Internal_covariate_shift.py") == "内部协变量偏移"
        assert page_name("12_Some_new_page.py") == "Some new page"   # not yet translated
    assert page_name("1_Figure_1_live.py") == "Figure 1 live"


# ---------------------------------------------------------------------------- charts

def test_chart_style_translates_shared_labels_and_keeps_the_english_look():
    from bn_core.figures import style

    english = style.base_layout("Training accuracy of both nets", "training step", "mean")
    assert english["xaxis"]["title"]["text"] == "training step"
    assert english["title"]["text"] == "Training accuracy of both nets"
    with i18n.language("zh"):
        chinese = style.base_layout("Training accuracy of both nets", "training step", "mean")
        assert style.net_label("plain") == "无批归一化" and style.net_label("bn") == "BN"
    assert chinese["xaxis"]["title"]["text"] == "训练步数"
    assert chinese["title"]["text"] == "两个网络的训练准确率"
    assert style.net_label("plain") == "Plain"
    # Plotly's own stack first (Latin glyphs unchanged), Noto CJK before the generic family
    family = [f.strip().strip('"') for f in english["font"]["family"].split(",")]
    assert family[:3] == ["Open Sans", "verdana", "arial"]
    assert family.index("Noto Sans CJK SC") < family.index("sans-serif")
    assert chinese["font"] == english["font"]


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="no fontconfig on this machine")
def test_the_cjk_font_of_the_chart_style_is_installed():
    """Debian's fonts-noto-cjk (.ci/run installs it): Chinese in charts is never boxes."""
    found = subprocess.run(["fc-match", "-f", "%{family}", "Noto Sans CJK SC:lang=zh-cn"],
                           capture_output=True, text=True, timeout=30).stdout
    assert "Noto Sans CJK SC" in found


# ---------------------------------------------------------------------------- the home page

def _home(query=None, browser=None, monkeypatch=None):
    from tests.pagetest import open_page

    if browser is not None:
        import bnlab_ui.language

        monkeypatch.setattr(bnlab_ui.language, "browser_language", lambda: browser)
    return open_page("app.py", query)


@pytest.fixture
def clean_registry():
    from tests.pagetest import fresh_registry

    yield
    fresh_registry()


def test_home_page_in_english_and_in_chinese(clean_registry):
    from tests.pagetest import chart_specs, poll

    en = _home()
    assert not en.exception
    assert [t.value for t in en.title] == [EN_TITLE]
    assert {"Pause", "Step", "Restart", "Stop"} <= {b.label for b in en.button}
    assert dict(en.query_params).get("lang") in (None, [])   # English needs no parameter

    zh = _home({"lang": "zh"})
    assert not zh.exception
    assert [t.value for t in zh.title] == [ZH_TITLE]
    labels = {b.label for b in zh.button}
    assert {"暂停", "单步", "10 步", "重新开始", "停止"} <= labels
    assert not labels & {"Pause", "Step", "Restart", "Stop"}
    assert [e.label for e in zh.expander] == ["关于本课的更多内容", "显示录制的运行"]
    assert any("协变量偏移与决策边界" in c.value for c in zh.caption) or \
        any("内部协变量偏移" in c.value for c in zh.caption)
    choice = zh.get("button_group")[0]
    assert choice.value == "zh" and choice.label == "语言"

    # the same run's charts, cached per language: the Chinese page gets Chinese axes
    def titled(at):
        return any(s["layout"].get("xaxis", {}).get("title") for s in chart_specs(at))

    poll(en, 60, until=lambda at: len(chart_specs(at)) >= 2 and titled(at))
    poll(zh, 60, until=lambda at: len(chart_specs(at)) >= 2 and titled(at))
    en_titles = {s["layout"]["title"]["text"] for s in chart_specs(en)}
    zh_titles = {s["layout"]["title"]["text"] for s in chart_specs(zh)}
    assert "Training accuracy of both nets" in en_titles
    assert "两个网络的训练准确率" in zh_titles and not en_titles & zh_titles


def test_language_is_chosen_in_the_sidebar_and_kept_in_the_url(clean_registry):
    at = _home()
    assert [t.value for t in at.title] == [EN_TITLE]
    at.get("button_group")[0].set_value("zh").run()
    assert [t.value for t in at.title] == [ZH_TITLE]
    assert at.query_params["lang"] in ("zh", ["zh"])
    at.run()                                     # remembered for the session
    assert [t.value for t in at.title] == [ZH_TITLE]
    at.get("button_group")[0].set_value("en").run()
    assert [t.value for t in at.title] == [EN_TITLE]
    assert "lang" not in at.query_params


def test_a_new_session_starts_in_the_browsers_language(clean_registry, monkeypatch):
    at = _home(browser="zh", monkeypatch=monkeypatch)
    assert [t.value for t in at.title] == [ZH_TITLE]
    assert at.query_params["lang"] in ("zh", ["zh"])    # a shared link opens in the same language
    at = _home({"lang": "en"}, browser="zh", monkeypatch=monkeypatch)
    assert [t.value for t in at.title] == [EN_TITLE]   # the URL wins over the browser
