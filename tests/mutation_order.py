"""Which tests a mutant runs first: those that killed its function's mutants in the last run.

mutmut runs every test that covers the mutated function, in no useful order, and stops at the
first failure (`-x`). Most mutants are killed by one or two of the dozens of tests that cover
their function, so a mutant killed by the last test it happens to run costs as much as one that
survives. Under mutmut, `conftest.py` sorts a mutant's tests by this history and appends each
mutant's first failing test to `mutants/kills.tsv`; `make mutants` then folds that file into
`tests/mutation_order.json` (committed, so a fresh clone starts ordered). Tests the history does
not know keep mutmut's order, after the known ones: the history changes the order, never the
set of tests, so a stale history costs time, not verdicts.

    python -m tests.mutation_order mutants/kills.tsv   # fold a run's kills into the history
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HISTORY = Path(__file__).with_name("mutation_order.json")
MARK = "__mutmut_"


def mutant_function(mutant: str) -> str | None:
    """The mutated function of a mutant's name; None for mutmut's other runs (stats, clean)."""
    return mutant.rsplit(MARK, 1)[0] if MARK in mutant else None


def load(path: Path = HISTORY) -> dict[str, dict[str, int]]:
    """Kills per test, per mutated function: {function: {test id: mutants it killed first}}."""
    return json.loads(path.read_text()) if path.exists() else {}


def sort_key(history: dict[str, dict[str, int]], function: str) -> Callable[[str], tuple]:
    """A key for test ids: the function's killers first (most kills first), then tests that
    killed other functions' mutants (most overall first), then the rest; ties keep their order."""
    own = history.get(function, {})
    overall: Counter[str] = Counter()
    for kills in history.values():
        overall.update(kills)

    def key(test: str) -> tuple:
        if test in own:
            return (0, -own[test])
        if test in overall:
            return (1, -overall[test])
        return (2, 0)

    return key


def record(kills: Path, mutant: str, test: str) -> None:
    """Append one kill: the test that failed first for this mutant."""
    with kills.open("a") as out:
        out.write(f"{mutant}\t{test}\n")


def fold(kills: Path, history: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The history with each function that has kills in this run replaced by this run's counts
    (a partial run, `mutmut run NAMES`, leaves the other functions' counts as they were)."""
    counts: dict[str, Counter[str]] = {}
    for line in kills.read_text().splitlines():
        mutant, _, test = line.partition("\t")
        function = mutant_function(mutant)
        if function and test:
            counts.setdefault(function, Counter())[test] += 1
    merged = {**history, **{f: dict(c.most_common()) for f, c in counts.items()}}
    return dict(sorted(merged.items()))


def main(argv: list[str]) -> int:
    kills = Path(argv[0]) if argv else Path("mutants/kills.tsv")
    if not kills.exists():
        print(f"no kills recorded ({kills} is missing); {HISTORY.name} unchanged")
        return 0
    history = fold(kills, load())
    partial = HISTORY.with_suffix(".json.tmp")
    partial.write_text(json.dumps(history, indent=1, sort_keys=True) + "\n")
    partial.replace(HISTORY)
    print(f"{HISTORY.name}: first killers of {len(history)} functions' mutants")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
