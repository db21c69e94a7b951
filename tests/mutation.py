"""Mutation testing's bookkeeping: which tests a mutant runs first, and the reviewed survivors.

mutmut runs every test that covers the mutated function, in no useful order, and stops at the
first failure (`-x`). Most mutants are killed by one or two of the dozens of tests that cover
their function, so a mutant killed by the last test it happens to run costs as much as one that
survives. Under mutmut, `conftest.py` sorts a mutant's tests by this history and appends each
mutant's first failing test to `mutants/kills.tsv`; `make mutants` then folds that file into
`tests/mutation_order.json` (committed, so a fresh clone starts ordered). Tests the history does
not know keep mutmut's order, after the known ones: the history changes the order, never the
set of tests, so a stale history costs time, not verdicts.

It also holds the review of the survivors: `tests/mutants_reviewed.tsv` names each reviewed
survivor, its kind (equivalent, gpu, wheels, unobservable, tuning, wording, gap) and why. The
report prints the counts, the score over all mutants and over the non-equivalent ones, and the
survivors nobody has reviewed yet: those are what a run is for.

    python -m tests.mutation fold mutants/kills.tsv       # fold a run's kills into the history
    python -m tests.mutation report mutants/results.txt   # `mutmut results --all true`, reviewed
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HISTORY = Path(__file__).with_name("mutation_order.json")
REVIEWED = Path(__file__).with_name("mutants_reviewed.tsv")
KINDS = ("equivalent", "gpu", "wheels", "unobservable", "tuning", "wording", "gap")
CAUGHT = {"killed", "timeout", "suspicious"}  # mutmut's verdicts where a test run failed
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


def reviewed(path: Path = REVIEWED) -> dict[str, tuple[str, str]]:
    """The reviewed survivors: {mutant: (kind, why)}."""
    out = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.strip() and not line.startswith("#"):
            name, kind, why = line.split("\t")
            if kind not in KINDS:
                raise ValueError(f"{path.name}: {name}: unknown kind {kind!r}")
            out[name] = (kind, why)
    return out


def verdicts(results: Path) -> dict[str, str]:
    """`mutmut results --all true` as {mutant: status}; a crash's exit code is kept out of
    its status ("suspicious(-6)" is "suspicious")."""
    out = {}
    for line in results.read_text().splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            out[name] = status.split("(")[0]
    return out


def report(results: Path, review: dict[str, tuple[str, str]]) -> list[str]:
    """The run's counts and score, the reviewed survivors by kind, and the unreviewed ones."""
    status = verdicts(results)
    counts = Counter(status.values())
    left = sorted(n for n, s in status.items() if s not in CAUGHT)
    kinds = Counter(review[n][0] for n in left if n in review)
    new = [n for n in left if n not in review]
    caught = sum(counts[s] for s in CAUGHT)
    lines = [", ".join(f"{s} {counts[s]}" for s in sorted(counts)) + f" of {len(status)}"]
    lines.append(f"score: {caught} / {len(status)} = {caught / max(1, len(status)):.1%} caught")
    real = len(status) - kinds["equivalent"]
    lines.append(f"over the non-equivalent: {caught} / {real} = {caught / max(1, real):.1%}")
    lines.append("reviewed survivors: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    lines.append(
        f"not reviewed ({len(new)}): run `mutmut show NAME`, then add it to {REVIEWED.name}"
    )
    lines += [f"  {n}: {status[n]}" for n in new]
    return lines


def main(argv: list[str]) -> int:
    command, path = (argv + ["", ""])[:2]
    if command == "report":
        results = Path(path or "mutants/results.txt")
        try:
            print("\n".join(report(results, reviewed())))
        except (OSError, ValueError) as exc:  # no run yet, or a malformed review line
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if command != "fold":
        print(__doc__)
        return 2
    kills = Path(path or "mutants/kills.tsv")
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
