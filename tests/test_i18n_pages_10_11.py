"""Pages 10 (which part of BN does the work?) and 11 (BN, LayerNorm and GroupNorm at tiny
batches) in Chinese (?lang=zh): each renders without an exception, and once its runs have shown
their measured sentences the visible text of the main area and the sidebar (texts, labels, help,
options, chart titles, axes, legends, hover text) has no English sentence left. Every computed
sentence of the two lessons, in each of its cases, is one whole Chinese message; the English
ones are unchanged (tests/test_which_part.py, tests/test_small_batches.py)."""
from __future__ import annotations

import pytest
from i18n_check import apptest_texts, english_left, settings_texts
from pagetest import chart_specs, fresh_registry, no_exceptions, open_page, poll, widget

import bnlab_ui.core as core
from bn_core import i18n

PAGE_10 = "pages/10_Which_part_of_BN.py"
PAGE_11 = "pages/11_Small_batches.py"
WAIT = 300  # seconds a page's runs may take on a loaded machine


@pytest.fixture(autouse=True)
def registry():
    yield
    fresh_registry()


def english(texts) -> list[str]:
    """English sentences left, leaving out the settings table's texts (bn_core/config.py,
    translated by the frame: see i18n_check.settings_texts)."""
    return english_left(texts, skip=settings_texts())


def no_braces(texts) -> list[str]:
    """Texts with a placeholder left unfilled (a "{name}" a student would read)."""
    import re

    return [t for t in texts if re.search(r"\{[a-z_]+[:}]", t) and "%{" not in t]


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def all_runs_finished() -> bool:
    runs = core.get_registry().runs()
    return bool(runs) and all(r.snapshot().status == "finished" for r in runs)


# ---------------------------------------------------------------------------- page 10

def test_zh_page_10_four_twins_and_their_sentences_in_chinese(zh):
    at = open_page(PAGE_10, {"lang": "zh", "steps": "300"})
    no_exceptions(at)
    assert at.title[0].value == "批归一化的哪一部分在起作用？"
    at = poll(at, WAIT, until=lambda a: "第 100 步的留出集准确率" in markdown_text(a)
              and "百分位带" in markdown_text(a) and len(chart_specs(a)) >= 3)
    no_exceptions(at)
    text = markdown_text(at)
    assert "**第 100 步的留出集准确率**：" in text and "（随机猜测：10%）" in text
    assert "**第 3 层输入的百分位带（单元 0）**" in text
    specs = chart_specs(at)
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert "四个网络的留出集准确率（从未训练过的数字）" in titles, titles
    accuracy = next(s for s in specs if s["layout"]["title"]["text"].startswith("四个网络"))
    assert [t["name"] for t in accuracy["data"]] == [
        "无批归一化", "仅归一化", "仅缩放与平移", "BN"]
    bands = next(s for s in specs if "百分位" in s["layout"]["title"]["text"])
    assert [a["text"] for a in bands["layout"]["annotations"]][:4] == [
        "无批归一化", "仅归一化", "仅缩放与平移", "BN"]
    texts = apptest_texts(at)
    assert english(texts) == [], english(texts)
    assert no_braces(texts) == [], no_braces(texts)
    # the sidebar's own settings of this page: the net's choice, the layer shown, pooled
    assert "图 1 网络：3 x 100 sigmoid" in texts and "显示的隐藏层" in texts
    assert "合并该层所有单元" in texts


def test_zh_page_10_deep_sigmoid_net_pooled_in_chinese(zh):
    at = open_page(PAGE_10, {"lang": "zh", "setup": "deep-sigmoid", "steps": "150",
                             "pooled": "true", "layer": "4"})
    no_exceptions(at)
    assert widget(at, "setup", "view").value == "deep-sigmoid"
    at = poll(at, WAIT, until=lambda a: "百分位带" in markdown_text(a)
              and len(chart_specs(a)) >= 3)
    no_exceptions(at)
    assert "**第 4 层输入的百分位带（合并所有单元）**" in markdown_text(at)
    titles = [s["layout"]["title"]["text"] for s in chart_specs(at)]
    assert "sigmoid 输入的第 15/50/85 百分位数，第 4 层，合并所有单元" in titles, titles
    texts = apptest_texts(at)
    assert "深层 sigmoid 网络：10 x 64" in texts, "the net's choice is not shown in Chinese"
    assert english(texts) == [], english(texts)
    assert no_braces(texts) == [], no_braces(texts)


def test_zh_page_10_every_verdict_and_case_is_one_chinese_sentence(zh):
    from test_which_part import normalisation_wins, snapshot, view

    from bn_core.lessons import which_part as wp

    cases = {
        "normalisation": normalisation_wins(),
        "scale and shift": snapshot([
            view("plain", [0.1, 0.1, 0.1, 0.4, 0.7]),
            view("norm_only", [0.1, 0.1, 0.11, 0.4, 0.7]),
            view("affine_only", [0.1, 0.8, 0.88, 0.9, 0.91]),
            view("bn", [0.1, 0.82, 0.9, 0.91, 0.93])]),
        "level and flat": snapshot([
            view("plain", [0.1, 0.5, 0.80, 0.9, 0.92], median=(0, 1, 2, 3, 4), width=0.0),
            view("norm_only", [0.1, 0.5, 0.81, 0.9, 0.93]),
            view("affine_only", [0.1, 0.5, 0.80, 0.9, 0.925], median=(0, 1, 2, 3, 4), width=0.0),
            view("bn", [0.1, 0.5, 0.80, 0.9, 0.93])]),
        "both like BN": snapshot([
            view("plain", [0.1, 0.1, 0.1, 0.4, 0.7]),
            view("norm_only", [0.1, 0.8, 0.88, 0.9, 0.91]),
            view("affine_only", [0.1, 0.8, 0.89, 0.9, 0.91]),
            view("bn", [0.1, 0.82, 0.9, 0.91, 0.93], status="diverged", diverged_at=250)]),
        "neither": snapshot([
            view("plain", [0.1, 0.1, 0.1, 0.4, 0.7]),
            view("norm_only", [0.1, 0.1, 0.12, 0.4, 0.7]),
            view("affine_only", [0.1, 0.1, 0.11, 0.4, 0.7]),
            view("bn", [0.1, 0.82, 0.9, 0.91, 0.93])]),
        "in between": snapshot([
            view("plain", [0.1, 0.1, 0.1, 0.4, 0.7]),
            view("norm_only", [0.1, 0.5, 0.5, 0.6, 0.8]),
            view("affine_only", [0.1, 0.1, 0.11, 0.4, 0.7]),
            view("bn", [0.1, 0.82, 0.9, 0.91, 0.93])]),
    }
    seen = set()
    for name, snap in cases.items():
        for pooled in (False, True):
            topics = wp.findings_by_topic(snap, pooled=pooled)
            lines = topics["speed"] + topics["fit"] + topics["bands"]
            assert lines and english(lines) == [] and no_braces(lines) == [], (name, lines)
            assert set(topics["verdict"]) <= set(topics["speed"])
            seen.update(lines)
    text = "\n".join(seen)
    for words in ("**所以这里早期的速度靠的是归一化**", "**所以这里早期的速度靠的是缩放与平移**",
                  "任一部分单独都足够", "单独任何一部分都给不了批归一化的早期的速度",
                  "仅归一化介于两者之间，仅缩放与平移像无批归一化网络",
                  "第 100 步时批归一化与无批归一化网络持平（80% 对 80%）",
                  "BN：93%（在第 250 步发散）", "（平坦：每个数字给这个单元的输入都相同）",
                  "不稳定的：仅缩放与平移。", "**让分布保持稳定的是归一化**",
                  "合并所有单元", "缩放与平移帮助网络拟合训练数据"):
        assert words in text, words
    with i18n.language("en"):
        assert wp.findings(cases["normalisation"])[1].startswith(
            "**So the normalisation does the work here for the early speed**")


def test_zh_page_10_english_is_unchanged():
    at = open_page(PAGE_10, {"steps": "300"})
    no_exceptions(at)
    assert at.title[0].value == "Which part of BN does the work?"
    assert widget(at, "setup", "view").label == "Net"


# ---------------------------------------------------------------------------- page 11

QUICK_11 = {"sizes": "16,32,64"}   # the reference batch, one smaller (BN's two modes), one larger


def test_zh_page_11_sweep_and_its_sentences_in_chinese(zh):
    at = open_page(PAGE_11, {**QUICK_11, "lang": "zh"})
    no_exceptions(at)
    assert at.title[0].value == "极小批量下的批归一化、LayerNorm 与 GroupNorm"
    at = poll(at, WAIT, until=lambda a: all_runs_finished())
    at.run()  # draw the finished sweep
    no_exceptions(at)
    assert all_runs_finished()
    text = markdown_text(at)
    assert "全部 3 个运行都已完成。" in text
    assert "批大小 32 时留出集准确率" in text and "批大小 16 时" in text     # one sentence per net
    assert "**批大小 16 时批归一化的两种模式**" in text                    # the mode gap, measured
    assert "在目前已完成的各个批大小中，留出集准确率的范围：" in text
    assert "第 0 个隐藏层" not in text and "第 1 个隐藏层的单元 0" in text  # the noise sentence
    titles = [s["layout"]["title"]["text"] for s in chart_specs(at)]
    assert "不同批大小下的留出集准确率（空心：仍在训练）" in titles, titles
    assert "批归一化在两种模式下的留出集准确率" in titles, titles
    assert any(t.startswith("批大小 16：留出集准确率") for t in titles), titles
    modes = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("批归一化在"))
    assert [t["name"] for t in modes["data"]] == ["评估模式（滑动统计量）", "训练模式（批统计量）"]
    texts = apptest_texts(at)
    assert english(texts) == [], english(texts)
    assert no_braces(texts) == [], no_braces(texts)
    assert "批大小 32 时的学习率（随批大小缩放）" in texts       # the sidebar's own label
    assert "批大小 16" in texts                                 # the run-shown-in-detail choices


def test_zh_page_11_while_the_runs_train_in_chinese(zh):
    at = open_page(PAGE_11, {"sizes": "2,4", "lang": "zh"})
    no_exceptions(at)
    text = markdown_text(at)
    assert "2 个运行中已完成 0 个；仍在训练：批大小 2，4。" in text or \
        "2 个运行中已完成 1 个；仍在训练：批大小 4。" in text or "全部 2 个运行都已完成。" in text
    texts = apptest_texts(at)
    assert english(texts) == [], english(texts)
    assert no_braces(texts) == [], no_braces(texts)


def test_zh_page_11_every_case_of_the_sweep_sentences_is_chinese(zh):
    from test_small_batches import point

    from bn_core.lessons import small_batches as sb

    accs = {"bn": 0.40, "layernorm": 0.918, "groupnorm": 0.95}
    cases = [
        [point(2, accs, {"bn": (2.08, 1.81), "layernorm": (0.26, 0.18),
                         "groupnorm": (0.27, 0.18)}),
         point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916}),
         point(128, {"bn": 0.937, "layernorm": 0.817, "groupnorm": 0.891})],
        [point(2, accs, {"bn": (1.81, 2.08), "layernorm": (0.26, 0.18),
                         "groupnorm": (0.27, 0.18)}),
         point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916})],
        [point(2, accs, train_mode={"bn": 0.27, "layernorm": 0.918}),
         point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916})],
        [point(2, accs, train_mode={"bn": 0.6}),
         point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916})],
        [point(2, accs, train_mode={"bn": 0.41}),
         point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916})],
        [point(2, {"bn": 0.9, "layernorm": 0.9, "groupnorm": 0.9})],
    ]
    seen = []
    for points in cases:
        lines = sb.findings(points)
        assert lines and english(lines) == [] and no_braces(lines) == [], lines
        assert sb.sweep_findings(points) + sb.mode_findings(points) == [
            t for t in lines if t in sb.sweep_findings(points)] + [
            t for t in lines if t in sb.mode_findings(points)]
        seen += lines
    text = "\n".join(seen)
    for words in ("**低 54.7%**", "**高 3.4%**", "差不多（+1.6%）", "评估模式更好", "评估模式更差",
                  "评估模式高 13.0%", "训练模式高 20.0%", "两者差不多",
                  "没有批统计量的 LayerNorm：91.8% 与 91.8%。", "批大小 32 的运行（参照）尚未完成。",
                  "LayerNorm 从 81.7%（批大小 128）到 91.8%（批大小 2）"):
        assert words in text, words
    progress = sb.sweep_progress(cases[0] + [point(8, accs, status="running")])
    assert progress == "4 个运行中已完成 3 个；仍在训练：批大小 8。"
    with i18n.language("en"):
        assert sb.mode_findings(cases[2])[0].startswith("**BN's two modes at batch 2**")
        assert sb.sweep_progress(cases[0]) == "All 3 runs have finished."


def test_zh_page_11_english_is_unchanged():
    at = open_page(PAGE_11, {"sizes": "64,128"})
    no_exceptions(at)
    assert at.title[0].value == "BN, LayerNorm and GroupNorm at tiny batches"
    assert widget(at, "lr").label == "Learning rate at batch 32 (scaled with the batch)"
    assert [o for o in widget(at, "detail", "view").options] == ["batch 64", "batch 128"]
