"""Summarise a mutmut run: the score of each core package and the surviving mutants.

    python tools/mutation_report.py [--survivors]

Reads mutmut's result files (``mutants/**/*.meta``). Score = killed / (killed + survived +
no tests), where a timeout counts as killed (the mutant made the tests hang, so they noticed it);
mutants not yet checked are left out and counted separately.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

CORE = ("layers", "ops", "losses", "optimizers", "callbacks", "metrics", "preprocessing", "io", "forecast")
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}


def load(root: Path = Path("mutants")) -> tuple[dict[str, Counter], dict[str, list[str]]]:
    by_pkg: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for meta in sorted(root.glob("src/tanul/**/*.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            pkg = name.split(".")[1]
            status = "not checked" if code is None else STATUS.get(code, "suspicious")
            by_pkg[pkg][status] += 1
            if status in ("survived", "no tests", "suspicious"):
                survivors[pkg].append(f"{name} ({status})")
    return by_pkg, survivors


def main(argv: list[str]) -> int:
    by_pkg, survivors = load()
    print("| package | mutants | killed | timeout | survived | no tests | not checked | score |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for pkg in CORE:
        c = by_pkg.get(pkg, Counter())
        done = c["killed"] + c["timeout"] + c["survived"] + c["no tests"] + c["suspicious"]
        score = f"{100 * (c['killed'] + c['timeout']) / done:.1f} %" if done else "-"
        print(f"| {pkg} | {sum(c.values())} | {c['killed']} | {c['timeout']} | {c['survived']} | "
              f"{c['no tests']} | {c['not checked']} | {score} |")
    if "--survivors" in argv:
        for pkg in CORE:
            for s in survivors.get(pkg, []):
                print(s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
