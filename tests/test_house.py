"""The house rules that a test can check: imports point pipelines -> corpus -> schemas,
report -> corpus -> schemas and model -> schemas; corpus and report never import Beam or torch;
every module has a docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "corpus", "pipelines", "model", "report")

# package -> top-level imports it must never make
FORBIDDEN = {
    "schemas": {"corpus", "pipelines", "model", "report", "apache_beam", "torch"},
    "corpus": {"pipelines", "model", "report", "apache_beam", "torch"},
    "pipelines": {"model", "torch"},
    "model": {"corpus", "pipelines", "report", "apache_beam"},
    "report": {"pipelines", "model", "apache_beam", "torch"},
}


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    wrong = []
    for path in _modules(package):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not wrong, "imports against the house direction:\n" + "\n".join(wrong)


def test_the_checker_sees_a_wrong_arrow(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import apache_beam as beam\nfrom model.x import y\n")
    assert _imports(bad) & FORBIDDEN["corpus"] == {"apache_beam", "model"}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_what_it_is(package):
    missing = [str(p.relative_to(ROOT)) for p in _modules(package)
               if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None]
    assert not missing, f"modules without a docstring: {missing}"
