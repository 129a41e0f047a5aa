"""The claim check (bn_core/claims.py, `python -m bn_core check-claims`): every lesson's claim
measured on its page's default setup on seeds 0, 1 and 2. The quick check is what CI runs; the
full table is docs/claims.md."""
from __future__ import annotations

import pytest

from bn_core import claims
from bn_core.__main__ import main


def test_every_teaching_point_has_a_claim():
    codes = [c.code for c in claims.CLAIMS]
    assert len(set(codes)) == len(codes)
    for t in range(1, 14):
        assert any(c == f"T{t}" or (c.startswith(f"T{t}") and not c[len(f"T{t}")].isdigit())
                   for c in codes), f"T{t}"


def test_the_table_says_which_seed_failed():
    claim = claims.Claim("T99", "a lesson", "a statement", lambda seed, quick: None)
    report = claims.ClaimReport(claim, (0, 1), (claims.Measured("fine", True),
                                                claims.Measured("bad", False)))
    text = claims.format_table([report])
    assert "seed 1: FAILS: bad" in text and "holds: NO (seed 1)" in text
    md = claims.format_table([report], markdown=True)
    assert md.splitlines()[0] == "| claim | lesson | statement | seed 0 | seed 1 | holds |"
    assert "| T99 | a lesson | a statement | fine | FAILS: bad | NO (seed 1) |" in md


@pytest.mark.parametrize("argv,needle", [
    (["check-claims", "--seeds", "a,b"], "seeds"),
    (["check-claims", "--seeds", "-1"], "seeds"),
    (["check-claims", "--only", "T99"], "unknown claim"),
])
def test_bad_arguments_are_one_clear_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_the_computed_claims_hold_on_three_seeds(capsys):
    """T10-T12 need no training: they run in a second, in this process."""
    assert main(["check-claims", "--only", "T10,T11,T12", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("holds: yes") == 3 and "seed 2:" in out


@pytest.mark.slow
def test_every_claim_holds_on_seeds_0_1_2_quick():
    """The CI check: every lesson's claim on its default setup (shortened runs), three seeds,
    two processes. A claim that stops holding fails here with what it measured."""
    reports = claims.check_claims((0, 1, 2), quick=True, jobs=2)
    assert [r.claim.code for r in reports] == [c.code for c in claims.CLAIMS]
    failed = {r.claim.code: [m.text for m in r.results] for r in reports if not r.holds}
    assert not failed, failed
