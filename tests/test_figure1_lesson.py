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


# ------------------------------------------------------------ what the charts show, in words

def _run(**changes):
    from bn_core.engine.training import train_to_end
    from bn_core.presets import lesson_setup

    return train_to_end(lesson_setup("figure1").replace(steps=400, pace=0.0, **changes))


def _acc_at(view, step):
    ev = view.evals
    return float(ev["heldout_acc"][ev["step"] == step][0])


def test_the_readings_follow_the_default_run_and_its_mirror_image():
    import dataclasses

    from bn_core.lessons import figure1

    snap = _run()
    gap = _acc_at(snap.nets["bn"], 300) - _acc_at(snap.nets["plain"], 300)
    assert gap >= figure1.CLEAR_LEAD  # the head start of Figure 1 (a), seed 0 (docs/claims.md)
    text = figure1.accuracy_reading(snap, 300)
    assert f"At step 300 the BN net is **{gap * 100:.0f} points ahead**" in text
    assert "at chance" not in text and "diverged" not in text
    assert figure1.accuracy_reading(snap, 300, limit=1).count("step") == 1
    # The same run with the nets' records swapped: the sentence must say the opposite.
    swapped = dataclasses.replace(snap, nets={"plain": dataclasses.replace(
        snap.nets["bn"], label="Plain"), "bn": dataclasses.replace(snap.nets["plain"], label="BN")})
    assert "the **plain** net is" in figure1.accuracy_reading(swapped, 300)
    assert "opposite of Figure 1 (a)" in figure1.accuracy_reading(swapped, 300)
    # The band sentence is decided by the measured drift, both ways.
    from bn_core.lessons.distributions import band_drift

    drift = {n: band_drift(v.probes["unit_pct"][:, 2, :]).median_range
             for n, v in snap.nets.items()}
    band, mirrored = figure1.band_reading(snap, 2, False), figure1.band_reading(swapped, 2, False)
    if drift["plain"] >= figure1.STILLER * drift["bn"]:
        assert "much less: Figure 1 (b, c)" in band and "does not show" in mirrored
    else:
        assert "much less" not in band
    assert figure1.accuracy_reading(snap, 5000).endswith("this run has not reached it yet.")


def test_a_plain_net_at_chance_is_named_so_and_the_caption_says_what_differs():
    from bn_core.lessons import figure1
    from bn_core.presets import lesson_setup

    base = lesson_setup("figure1")
    snap = _run(lr_multiplier=30.0)
    plain_end = float(snap.nets["plain"].evals["heldout_acc"][-1])
    text = figure1.accuracy_reading(snap, 300)
    if snap.nets["plain"].status == "diverged":
        assert f"The plain net **diverged at step {snap.nets['plain'].diverged_at:,}**" in text
    elif plain_end <= 0.1 + figure1.NEAR_CHANCE:
        assert f"The plain net is **at chance** ({plain_end:.0%}" in text
    else:
        assert "at chance" not in text
    assert "Plain net" not in text   # a label inside a sentence is lower case
    assert "x1 again" in figure1.try_next(snap.config, base)
    assert "x5 or x30" in figure1.try_next(base, base)
    caption = figure1.paper_length_caption(snap.config, base)
    assert caption.startswith(figure1.paper_length_note("mnist-subset"))
    assert "this run differs (learning-rate multiplier x30)" in caption.lower()
    assert figure1.paper_length_caption(base, base) == figure1.paper_length_note("mnist-subset")
    small = base.replace(init="scaled", init_scale=0.01)
    assert figure1.differences(small, base, figure1.MEASURED_AT_DEFAULTS) == \
        ["initial weights N(0, 0.01^2/fan_in)"]
