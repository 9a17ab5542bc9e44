"""The imports of tanul run one way (docs/design.md, "The house").

Every module under src/tanul is parsed with ``ast``; every import (at module level, inside
functions and classes, under ``if``/``try``) of another part of tanul must be allowed by the
table between the ``import-rules`` markers in docs/design.md, and that table must have no
cycle. Third-party packages other than NumPy may only be imported inside functions.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tanul"
DESIGN = ROOT / "docs" / "design.md"


def read_rules(text: str) -> dict[str, set[str]]:
    """``{unit: units it may import}`` from the fenced table between the markers."""
    begin, end = "<!-- import-rules:begin -->", "<!-- import-rules:end -->"
    assert begin in text and end in text, f"docs/design.md: the {begin} ... {end} table is missing"
    block = text.split(begin, 1)[1].split(end, 1)[0]
    rules: dict[str, set[str]] = {}
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "```")):
            continue
        unit, *allowed = line.split()
        assert unit not in rules, f"docs/design.md: unit {unit!r} is listed twice"
        rules[unit] = {a for a in allowed if a != "-"}
    return rules


def unit_of(module: str) -> str:
    """``tanul.layers.conv`` -> ``layers``; ``tanul`` -> ``tanul`` (the facade)."""
    parts = module.split(".")
    assert parts[0] == "tanul", module
    return parts[1] if len(parts) > 1 else "tanul"


def is_module(dotted: str, src: Path = SRC) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (src / rel).with_suffix(".py").is_file() or (src / rel / "__init__.py").is_file()


def module_name(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool, src: Path = SRC):
    """Yield ``(line, imported tanul module, at_module_level)`` and ``(line, third-party
    top-level name, at_module_level)`` for every import anywhere in ``source``."""
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("tanul"):
                for alias in node.names:  # `from tanul.layers import conv` imports tanul.layers.conv
                    sub = f"{target}.{alias.name}"
                    yield node.lineno, sub if is_module(sub, src) else target, id(node) in top_level
            else:
                yield node.lineno, target, id(node) in top_level


#: Adapter modules plug tanul into one third-party library (their classes subclass its classes),
#: so they import that library at module level; ``import tanul`` never imports them
#: (tests/test_sklearn.py checks that scikit-learn stays unloaded).
ADAPTERS = {"tanul.sklearn": {"sklearn"}}


def violations(src: Path, rules: dict[str, set[str]]) -> list[str]:
    problems = []
    for path in sorted(src.rglob("*.py")):
        module = module_name(path, src)
        unit = unit_of(module)
        if unit not in rules:
            problems.append(f"{module}: its unit {unit!r} is not in the import table of "
                            "docs/design.md; add it there (with what it may import)")
            continue
        found = imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", src)
        for line, target, at_top in sorted(set(found)):
            top = target.split(".")[0]
            if top == "tanul":
                other = unit_of(target)
                if other != unit and other not in rules[unit]:
                    where = "at module level" if at_top else "inside a function (a late import is no fix)"
                    problems.append(f"{path.relative_to(src.parent)}:{line}: {module} imports {target} "
                                    f"{where}, but {unit!r} may import only "
                                    f"{sorted(rules[unit]) or 'nothing from tanul'}")
            elif at_top and top and top not in sys.stdlib_module_names and top not in ("numpy", "__future__") \
                    and top not in ADAPTERS.get(module, ()):
                problems.append(f"{path.relative_to(src.parent)}:{line}: {module} imports the third-party "
                                f"package {top!r} at module level; import it inside the function that "
                                "needs it (import tanul must load nothing but NumPy)")
    return problems


def find_cycle(rules: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(rules.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(rules):
        if u not in state and (found := visit(u)):
            return found
    return None


RULES = read_rules(DESIGN.read_text(encoding="utf-8"))


def test_the_import_table_runs_one_way():
    assert find_cycle(RULES) is None, f"docs/design.md: the import table has a cycle {find_cycle(RULES)}"
    unknown = {a for allowed in RULES.values() for a in allowed} - set(RULES)
    assert not unknown, f"docs/design.md: the import table names units it does not define: {unknown}"


def test_every_unit_in_the_table_exists():
    stale = [u for u in RULES if u != "tanul" and not is_module(f"tanul.{u}")]
    assert not stale, f"docs/design.md lists units that no longer exist: {stale}"


def test_every_module_imports_along_the_table():
    problems = violations(SRC, RULES)
    assert not problems, "imports against the order of docs/design.md:\n" + "\n".join(problems)


def test_optimizers_and_callbacks_know_only_the_protocol():
    """The issue's rule, stated independently of the table."""
    for unit in ("optimizers", "callbacks"):
        assert RULES[unit] <= {"protocol"}, f"{unit} may import {RULES[unit]}"
    for unit in ("model", "training", "parameters", "summary"):
        assert "io" not in RULES[unit]


# ---------------------------------------------------------------------- the checker can fail
@pytest.fixture
def tiny_package(tmp_path):
    """A fake ``tanul`` with a model that imports io late, and io that imports the model."""
    src = tmp_path / "tanul"
    (src / "layers").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "layers" / "__init__.py").write_text("from . import dense\n")
    (src / "layers" / "dense.py").write_text("import numpy as np\nfrom ..ops import gemm\n")
    (src / "ops.py").write_text("")
    (src / "io.py").write_text("from tanul.model import Sequential\n")
    (src / "model.py").write_text(
        "from tanul.layers import dense\n\n"
        "def save(self, path):\n    from tanul import io\n    io.save_model(self, path)\n")
    (src / "plot.py").write_text("def figure():\n    import matplotlib\n")
    (src / "jobs.py").write_text("import matplotlib\n")
    return src


def test_a_late_upward_import_is_reported(tiny_package):
    rules = {"tanul": set(), "ops": set(), "layers": {"ops"}, "model": {"layers"}, "io": {"model"},
             "plot": set(), "jobs": set()}
    problems = violations(tiny_package, rules)
    assert len(problems) == 2, problems
    assert any("tanul.model imports tanul.io inside a function" in p for p in problems), problems
    assert any("tanul.jobs imports the third-party package 'matplotlib' at module level" in p
               for p in problems), problems


def test_relative_imports_and_unknown_units_are_checked(tiny_package):
    rules = {"tanul": set(), "layers": set(), "ops": set(), "model": {"layers"}, "io": {"model"},
             "plot": set(), "jobs": set()}
    problems = violations(tiny_package, rules)
    assert any("tanul.layers.dense imports tanul.ops at module level" in p for p in problems), problems
    del rules["plot"]
    assert any("unit 'plot' is not in the import table" in p for p in violations(tiny_package, rules))


def test_a_cycle_in_the_table_is_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
