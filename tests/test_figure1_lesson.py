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
