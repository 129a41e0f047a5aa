"""Tests for bn_core/lessons/figure1.py: the paper-length note says what a 50,000-step run
showed on the data set chosen (measured numbers), and says so when it was not measured."""
from bn_core.lessons.figure1 import MEASURED, paper_length_note


def test_the_note_depends_on_the_data_set():
    subset = paper_length_note("mnist-subset")
    fashion = paper_length_note("fashion-mnist")
    assert subset != fashion
    assert "**will not see** BN end higher" in subset and "94.5% vs plain 94.6%" in subset
    assert "learnt by about step 3,000" in subset
    assert "seeds 0, 1, 2" in fashion and "80-83% vs plain 52-59%" in fashion
    assert "86.7-89.4%" in fashion


def test_an_unmeasured_data_set_says_so():
    note = paper_length_note("mnist")
    assert "not measured" in note and "will see" not in note
    assert "Binary images were not measured" in paper_length_note("mnist-subset", binarize=True)
    assert set(MEASURED) == {"mnist-subset", "fashion-mnist"}


def test_live_texts_quote_the_run():
    from bn_core.engine.training import train_to_end
    from bn_core.lessons import figure1
    from bn_core.lessons.distributions import band_drift
    from bn_core.presets import lesson_setup

    snap = train_to_end(lesson_setup("figure1").replace(steps=400))
    acc = figure1.accuracy_text(snap, 300)
    bn300 = float(snap.nets["bn"].evals["heldout_acc"][snap.nets["bn"].evals["step"] == 300][0])
    assert f"{bn300:.0%} at step 300" in acc and "at step 400" in acc
    bands = figure1.band_text(snap, 2, pooled=False)
    d = {n: band_drift(v.probes["unit_pct"][:, 2, :]) for n, v in snap.nets.items()}
    assert f"range of **{d['plain'].median_range:.2f}**" in bands
    assert bands.startswith("**Layer 3, unit 0, step 0 → 400**")
    ratio = d["plain"].median_range / d["bn"].median_range
    assert (f"**{ratio:.1f} times**" in bands) if ratio >= 1 else ("wandered further" in bands)
