"""`make mutants`: likely killers run first; the survivors' review (tests/mutation.py)."""

from __future__ import annotations

import pytest

from tests import mutation


def test_a_mutant_name_gives_its_function_and_mutmut_s_other_runs_none():
    name = "runtime.predict.xǁPredictorǁ_prepare_all__mutmut_10"
    assert mutation.mutant_function(name) == "runtime.predict.xǁPredictorǁ_prepare_all"
    for other in ("", "stats", "fail", "list_all_tests", "mutant_generation"):
        assert mutation.mutant_function(other) is None


def test_own_killers_come_first_then_other_killers_then_the_rest_in_their_order():
    history = {
        "runtime.ink.x_otsu": {"t::a": 1, "t::b": 5},
        "runtime.ink.x_stretch": {"t::c": 2, "t::d": 9, "t::a": 20},
    }
    tests = ["t::x", "t::d", "t::y", "t::a", "t::c", "t::b"]
    ordered = sorted(tests, key=mutation.sort_key(history, "runtime.ink.x_otsu"))
    # own: b (5) before a (1); then the others by overall kills: d (9), c (2); then x, y as given
    assert ordered == ["t::b", "t::a", "t::d", "t::c", "t::x", "t::y"]
    unknown = sorted(tests, key=mutation.sort_key(history, "runtime.ink.x_new"))
    assert unknown == ["t::a", "t::d", "t::b", "t::c", "t::x", "t::y"]
    assert sorted(tests, key=mutation.sort_key({}, "f")) == tests


def test_a_run_s_kills_replace_only_the_functions_they_name(tmp_path):
    kills = tmp_path / "kills.tsv"
    mutation.record(kills, "m.x_f__mutmut_1", "t::a")
    mutation.record(kills, "m.x_f__mutmut_2", "t::b")
    mutation.record(kills, "m.x_f__mutmut_3", "t::b")
    kills.write_text(kills.read_text() + "stats\tt::z\n")  # not a mutant: ignored
    old = {"m.x_f": {"t::old": 50}, "m.x_g": {"t::g": 3}}
    folded = mutation.fold(kills, old)
    assert folded == {"m.x_f": {"t::b": 2, "t::a": 1}, "m.x_g": {"t::g": 3}}
    assert list(folded["m.x_f"]) == ["t::b", "t::a"]


def test_the_committed_history_names_tests_by_their_ids():
    history = mutation.load()
    assert history, "tests/mutation_order.json is missing or empty: run make mutants"
    for function, kills in history.items():
        assert mutation.MARK not in function and kills
        assert all(t.startswith("tests/test_") and "::" in t for t in kills), function
        assert all(isinstance(n, int) and n > 0 for n in kills.values()), function


def test_the_report_scores_the_run_and_names_the_unreviewed_survivors(tmp_path):
    results = tmp_path / "results.txt"
    results.write_text(
        "    m.x_f__mutmut_1: killed\n    m.x_f__mutmut_2: survived\n"
        "    m.x_f__mutmut_3: timeout\n    m.x_g__mutmut_1: suspicious(-6)\n"
        "    m.x_g__mutmut_2: survived\n    m.x_g__mutmut_3: no tests\n"
        "    m.x_g__mutmut_4: killed\n    m.x_g__mutmut_5: killed\n"
    )
    review = {"m.x_f__mutmut_2": ("equivalent", "same value"), "m.x_h__mutmut_9": ("gap", "gone")}
    lines = mutation.report(results, review)
    assert lines[0] == "killed 3, no tests 1, survived 2, suspicious 1, timeout 1 of 8"
    assert lines[1] == "score: 5 / 8 = 62.5% caught"
    assert lines[2] == "over the non-equivalent: 5 / 7 = 71.4%"
    assert lines[3] == "reviewed survivors: equivalent 1"
    assert lines[4].startswith("not reviewed (2)")
    assert lines[5:] == ["  m.x_g__mutmut_2: survived", "  m.x_g__mutmut_3: no tests"]


def test_the_committed_review_names_a_kind_and_a_reason_for_each_survivor(tmp_path):
    review = mutation.reviewed()
    assert len(review) > 100, "tests/mutants_reviewed.tsv is missing or nearly empty"
    for name, (kind, why) in review.items():
        assert mutation.mutant_function(name) and kind in mutation.KINDS and why.strip(), name
    bad = tmp_path / "reviewed.tsv"
    bad.write_text("m.x_f__mutmut_1\tfine\tno such kind\n")
    with pytest.raises(ValueError, match="unknown kind 'fine'"):
        mutation.reviewed(bad)


def test_report_without_a_run_is_one_error_line(tmp_path):
    """`python -m tests.mutation report` before any run: one `error:` line, exit 1."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    def report(*args):
        return subprocess.run([sys.executable, "-m", "tests.mutation", "report", *args],
                              capture_output=True, text=True, cwd=ROOT)  # fmt: skip

    missing = report(str(tmp_path / "results.txt"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
    assert "results.txt" in missing.stderr
    results = tmp_path / "results.txt"
    results.write_text("    m.x_f__mutmut_1: survived\n")
    assert "not reviewed (1)" in report(str(results)).stdout
