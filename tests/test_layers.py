"""Imports run one way, api -> loyalty -> nlp: the API reaches `nlp` only through
`loyalty.sentiment`, and `nlp` knows nothing of the service. Read from the source with `ast`,
imports inside functions included; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, and every import_module / __import__ of a
    string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            first = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.append((node.lineno, first.value))
    return found


def crossings(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {module}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, module in imported(path)
            if module.split(".")[0] in forbidden]


@pytest.mark.parametrize("package, forbidden", [
    ("api", ("nlp",)),
    ("nlp", ("loyalty", "api")),
    ("loyalty", ("api",)),
])
def test_imports_run_one_way(package, forbidden):
    assert (ROOT / package / "__init__.py").is_file()
    assert crossings(package, forbidden) == []


def test_the_check_sees_lazy_and_dynamic_imports(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("import os\n"
                      "def f():\n"
                      "    from nlp.scorer import SentimentScorer\n"
                      "    import nlp\n"
                      "    importlib.import_module('nlp.aspects')\n"
                      "    from . import sibling\n", encoding="utf-8")
    assert sorted(imported(source)) == [(1, "os"), (3, "nlp.scorer"), (4, "nlp"),
                                        (5, "nlp.aspects")]
