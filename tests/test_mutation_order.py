"""`make mutants` runs each mutant's likely killers first (tests/mutation_order.py)."""

from __future__ import annotations

from tests import mutation_order


def test_a_mutant_name_gives_its_function_and_mutmut_s_other_runs_none():
    name = "runtime.predict.xǁPredictorǁ_prepare_all__mutmut_10"
    assert mutation_order.mutant_function(name) == "runtime.predict.xǁPredictorǁ_prepare_all"
    for other in ("", "stats", "fail", "list_all_tests", "mutant_generation"):
        assert mutation_order.mutant_function(other) is None


def test_own_killers_come_first_then_other_killers_then_the_rest_in_their_order():
    history = {
        "runtime.ink.x_otsu": {"t::a": 1, "t::b": 5},
        "runtime.ink.x_stretch": {"t::c": 2, "t::d": 9, "t::a": 20},
    }
    tests = ["t::x", "t::d", "t::y", "t::a", "t::c", "t::b"]
    ordered = sorted(tests, key=mutation_order.sort_key(history, "runtime.ink.x_otsu"))
    # own: b (5) before a (1); then the others by overall kills: d (9), c (2); then x, y as given
    assert ordered == ["t::b", "t::a", "t::d", "t::c", "t::x", "t::y"]
    unknown = sorted(tests, key=mutation_order.sort_key(history, "runtime.ink.x_new"))
    assert unknown == ["t::a", "t::d", "t::b", "t::c", "t::x", "t::y"]
    assert sorted(tests, key=mutation_order.sort_key({}, "f")) == tests


def test_a_run_s_kills_replace_only_the_functions_they_name(tmp_path):
    kills = tmp_path / "kills.tsv"
    mutation_order.record(kills, "m.x_f__mutmut_1", "t::a")
    mutation_order.record(kills, "m.x_f__mutmut_2", "t::b")
    mutation_order.record(kills, "m.x_f__mutmut_3", "t::b")
    kills.write_text(kills.read_text() + "stats\tt::z\n")  # not a mutant: ignored
    old = {"m.x_f": {"t::old": 50}, "m.x_g": {"t::g": 3}}
    folded = mutation_order.fold(kills, old)
    assert folded == {"m.x_f": {"t::b": 2, "t::a": 1}, "m.x_g": {"t::g": 3}}
    assert list(folded["m.x_f"]) == ["t::b", "t::a"]


def test_the_committed_history_names_tests_by_their_ids():
    history = mutation_order.load()
    assert history, "tests/mutation_order.json is missing or empty: run make mutants"
    for function, kills in history.items():
        assert mutation_order.MARK not in function and kills
        assert all(t.startswith("tests/test_") and "::" in t for t in kills), function
        assert all(isinstance(n, int) and n > 0 for n in kills.values()), function
