"""Lesson pages in Chinese (?lang=zh): each renders without an exception, and the visible text of
its main area and sidebar (texts, labels, help, options, chart titles, axes, legends) has no
English sentence left once its run has shown its measured sentences."""
from __future__ import annotations

import dataclasses

import pytest

from i18n_check_visible import english_left, visible_texts
from pagetest import (
    chart_specs,
    clean_registry,  # noqa: F401  (autouse fixture)
    no_exceptions,
    open_page,
    poll,
)

from bn_core import i18n
from bn_core.i18n import _

@pytest.fixture(autouse=True)
def zh_in_the_test_thread():
    """AppTest calls a widget's format_func (which translates) in the test's own thread when
    it re-runs a page: Chinese there too, or the options it compares would be English."""
    with i18n.language("zh"):
        yield


WAIT = 90  # seconds a page's run may take to show its first sentences on a loaded machine


def settings_table_texts() -> set[str]:
    """The settings table's own English texts (labels, help, choice names, in bn_core.config):
    another change marks them for translation; until it is merged they are left out here."""
    from bn_core.config import CHOICE_LABELS, SETTINGS, setting_for

    out = set()
    for spec in list(SETTINGS.values()) + [setting_for("batch_size", ("plain", "bn"))]:
        out |= {spec.label, spec.help} | {str(c) for c in (spec.choices or ())}
    for names in CHOICE_LABELS.values():
        out |= set(names.values())
    return {t for t in out if t}


def english_on(at) -> list[str]:
    table = settings_table_texts()
    return english_left(t for t in visible_texts(at) if t not in table)


def measured(at) -> bool:
    """The page shows a sentence computed from the run ("... 第 N 步 ...") and its charts."""
    return len(chart_specs(at)) >= 3 and any("第" in m.value and "步" in m.value
                                             for m in at.markdown)


def chinese_page(page: str, query: dict | None = None):
    at = open_page(page, {"lang": "zh", **(query or {})})
    no_exceptions(at)
    poll(at, WAIT, until=measured)
    no_exceptions(at)
    assert measured(at), "the run showed no measured sentence in time"
    return at


def chart_titles(at) -> list[str]:
    return [s["layout"].get("title", {}).get("text", "") for s in chart_specs(at)]


# ---------------------------------------------------------------------------- the checker

def test_zh_page_2_checker_flags_english_and_allows_names_symbols_and_links():
    assert english_left(["the plain net learns", "无批归一化网络学习"]) == ["the plain net learns"]
    assert english_left(["Ioffe 和 Szegedy 提出 BN", "ReLU、sigmoid 与 PyTorch",
                         "He's N(0, 2/fan_in)", "`part=foo is not valid` 无效",
                         "?lang=zh&part=whitening", "第 1,000 步：x1 (data) 0.25"]) == []


# ---------------------------------------------------------------------------- page 2

def test_zh_page_2_move_the_test_data_is_all_chinese():
    at = chinese_page("pages/2_Covariate_shift.py", {"sx": "2", "rot": "30"})
    assert [t.value for t in at.title] == ["协变量偏移与决策边界"]
    texts = " ".join(m.value for m in at.markdown)
    assert "被平移 (+2, +0) 并旋转 +30 度" in texts        # the shift, said as one phrase
    assert "训练数据上的准确率与偏移后测试数据上的准确率" in chart_titles(at)
    assert english_on(at) == []


def test_zh_page_2_data_far_from_the_origin_is_all_chinese():
    at = chinese_page("pages/2_Covariate_shift.py", {"part": "whitening", "white": "zca"})
    texts = " ".join(m.value for m in at.markdown)
    assert "**初始化时**" in texts and "第一层单元穿过训练数据" in texts
    assert "训练准确率：白化（实线）与不白化（点线）" in chart_titles(at)
    assert english_on(at) == []


def test_zh_page_2_a_bad_part_in_the_url_is_told_in_chinese():
    at = open_page("pages/2_Covariate_shift.py", {"lang": "zh", "part": "nope"})
    no_exceptions(at)
    assert [w.value for w in at.warning] == [
        "`part=nope` 无效（应为 shift, whitening 之一）；显示移动测试数据。"]


def test_zh_page_2_shift_phrases_are_whole_and_chinese_for_every_combination():
    from bn_core.config import RunConfig
    from bn_core.lessons.covariate_shift import shift_words

    base = RunConfig()
    seen = set()
    with i18n.language("zh"):
        for sx in (0.0, 1.5):
            for rot in (0.0, -45.0):
                for scale in (1.0, 2.0):
                    words = shift_words(base.replace(shift_x=sx, rotate_deg=rot, scale=scale))
                    assert english_left([words]) == [] and "{" not in words
                    seen.add(words)
    assert len(seen) == 8 and "被平移 (+1.5, +0)、旋转 -45 度并缩放 x2" in seen
    with i18n.language("en"):
        assert shift_words(base.replace(shift_x=1.5, scale=2.0)) == "moved by (+1.5, +0) and scaled x2"


# ---------------------------------------------------------------------------- page 5

def test_zh_page_5_shuffling_is_all_chinese():
    at = chinese_page("pages/5_Shuffling.py")
    assert [t.value for t in at.title] == ["打乱顺序：为什么数据顺序很重要"]
    texts = " ".join(m.value for m in at.markdown)
    assert "前 100 个批次中有 100% 只含一个类别" in texts      # sorted by class: one class each
    assert "前 100 个批次的标签构成（每批 10 个样本）" in chart_titles(at)
    assert english_on(at) == []


def test_zh_streamlits_own_uploader_words_are_drawn_in_chinese():
    """Every lesson's sidebar has a file uploader ("Show a recorded run") whose button and
    size limit are Streamlit's own English; in Chinese the frame's style draws them from the
    catalogue, and in English it adds nothing."""
    def styles(at):
        return " ".join(h.proto.body for h in at.get("html") if "<style>" in h.proto.body)

    at = open_page("pages/5_Shuffling.py", {"lang": "zh", "steps": "20"})
    no_exceptions(at)
    assert 'content: "上传"' in styles(at) and 'content: "每个文件最大 5MB"' in styles(at)
    assert "stFileUploaderDropzone" not in styles(open_page("pages/5_Shuffling.py",
                                                            {"steps": "20"}))


# ---------------------------------------------------------------------------- page 6

def test_zh_page_6_gradients_is_all_chinese():
    at = chinese_page("pages/6_Gradients_and_learning_rates.py", {"steps": "200"})
    assert [t.value for t in at.title] == ["梯度与学习率"]
    labels = {b.label for b in at.sidebar.button}
    assert {"深层 sigmoid（梯度消失）", "大初始化（梯度爆炸）"} <= labels
    assert "每个权重矩阵的梯度大小，从输入（左）到输出" in chart_titles(at)
    assert english_on(at) == []


def test_zh_page_6_net_status_and_export_note_are_translated_where_shown():
    from bn_core.engine.records import NetView
    from bn_core.export import _ordinal

    fields = {f.name: None for f in dataclasses.fields(NetView)}
    view = NetView(**{**fields, "name": "plain", "label": "Plain", "status": "diverged",
                      "step": 40, "diverged_at": 37})
    with i18n.language("en"):
        assert view.status_text == view.status_shown == "diverged at step 37"
        assert _ordinal(2) == "2nd" and _ordinal(12) == "12th" and _ordinal(23) == "23rd"
    with i18n.language("zh"):
        assert view.status_shown == "在第 37 步发散"
        assert view.status_text == "diverged at step 37"     # exports stay English
        assert _ordinal(2) == "2"
        assert _("Probes: {kept:,} of {offered:,} kept (every {nth} and the last, at step "
                 "{step:,}).").format(kept=251, offered=502, nth=_ordinal(2), step=5003) == \
            "探测：保留了 502 条中的 251 条（每 2 条取一条，外加最后一条，即第 5,003 步）。"


# ---------------------------------------------------------------------------- sentences off the defaults

def test_zh_page_2_whitening_sentences_are_chinese_for_real_runs():
    from bn_core.engine.training import train_to_end
    from bn_core.lessons import covariate_shift as text
    from bn_core.presets import lesson_setup

    setup = lesson_setup("whitening").replace(steps=300)
    runs = [train_to_end(setup.replace(whitening="none")),
            train_to_end(setup.replace(whitening="zca"))]
    with i18n.language("zh"):
        method = text.whitening_name("zca")
        said = [text.cut_rows(runs), text.now_rows(runs), text.whitening_look_for(runs[:1], 0.9)]
        for target in (0.6, 0.9, 0.999):
            said += [text.whitening_look_for(runs, target),
                     text.speedup_sentence(runs, "plain", target, method)]
            said += [text.reached_text(v, target) for v in runs[0].nets.values()]
    assert method == "ZCA 白化"
    assert english_left(said) == [], said


def test_zh_page_5_verdicts_are_chinese_sorted_partly_and_fully_shuffled():
    from bn_core.engine.training import train_to_end
    from bn_core.lessons import data_order as text
    from bn_core.presets import lesson_setup

    said = []
    for shuffle in (0.0, 0.5, 1.0):
        snap = train_to_end(lesson_setup("shuffling").replace(steps=400, shuffle=shuffle))
        with i18n.language("zh"):
            said += [text.verdict(snap), text.accuracy_rows(snap), text.region_shares(snap),
                     text.order_words(shuffle)]
    assert all(said) and english_left(said) == [], said


def test_zh_page_6_learning_rate_sentences_are_chinese_for_every_scenario():
    from bn_core.engine.training import train_to_end
    from bn_core.lessons import gradients as text
    from bn_core.presets import lesson_setup

    said, outcomes = [], set()
    for values in text.scenarios().values():
        snap = train_to_end(lesson_setup("gradients").replace(**values, steps=120))
        outcomes |= {text.outcome(v, text.chance(snap)) for v in snap.nets.values()}
        with i18n.language("zh"):
            said += [text.gradient_text(snap), text.accuracy_text(snap), text.lr_hint(snap),
                     text.explosion_text(snap), text.caption(snap.config),
                     text.profile_hint(snap.config)]
    assert len(outcomes) >= 2, outcomes          # more than one branch of lr_hint was said
    assert english_left(said) == [], said
