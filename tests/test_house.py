"""The house rules that a test can check: imports point pipelines -> corpus -> schemas,
report -> corpus -> schemas and model -> schemas; corpus and report never import Beam or torch;
inside model/ the rooms point one way too (see model/__init__.py): data never imports the
network, the network never imports training or distribution, training never imports
distribution; model/nn/moe_stats.py imports no model module (it once closed an import cycle);
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


def _imports(path: Path, depth: int = 1) -> set[str]:
    """Imported module names cut to their first ``depth`` parts (``model.nn.moe`` -> ``model``
    at depth 1, ``model.nn`` at depth 2); ``from model import x`` counts as ``model.x``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {".".join(a.name.split(".")[:depth]) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                names.add(".".join(f"{node.module}.{a.name}".split(".")[:depth]))
    return names


# model room -> model rooms it must never import (model/__init__.py draws the plan)
_ROOMS = ("data", "nn", "train", "distributed", "infer", "cli", "apps")
MODEL_FORBIDDEN = {
    "data": {"nn", "train", "distributed", "infer", "cli", "apps"},
    "nn": {"train", "distributed", "infer", "cli", "apps"},
    "train": {"distributed", "infer", "cli", "apps"},
    "distributed": {"infer", "cli", "apps"},
    "infer": {"distributed", "cli", "apps"},
    "apps": {"distributed"},
    "cli": set(),
}
# the configuration modules at model/'s top are shared by every room and import none
MODEL_TOP = ("config", "moe_config", "presets")


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    wrong = []
    for path in _modules(package):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not wrong, "imports against the house direction:\n" + "\n".join(wrong)


def _model_rooms_imported(path: Path) -> set[str]:
    return {name.split(".")[1] for name in _imports(path, depth=2)
            if name.startswith("model.") and name.split(".")[1] in _ROOMS}


@pytest.mark.parametrize("room", sorted(MODEL_FORBIDDEN))
def test_model_rooms_point_one_way(room):
    files = _modules(f"model/{room}")
    assert files, f"model/{room} is empty"
    wrong = [f"{p.relative_to(ROOT)} imports model.{sorted(bad)}" for p in files
             if (bad := _model_rooms_imported(p) & MODEL_FORBIDDEN[room])]
    assert not wrong, "imports against the rooms' direction:\n" + "\n".join(wrong)


def test_model_config_and_moe_stats_import_no_room():
    wrong = {f"model/{name}.py": sorted(_model_rooms_imported(ROOT / "model" / f"{name}.py"))
             for name in MODEL_TOP}
    assert wrong == {f"model/{name}.py": [] for name in MODEL_TOP}
    stats = ROOT / "model" / "nn" / "moe_stats.py"
    assert {n for n in _imports(stats, depth=3) if n.startswith("model")} == set()
    # every module of model/ is in a room or is one of the shared config modules
    loose = sorted(p.stem for p in (ROOT / "model").glob("*.py")
                   if p.stem not in MODEL_TOP + ("__init__",))
    assert loose == []


def test_the_checker_sees_a_wrong_arrow(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import apache_beam as beam\nfrom model.x import y\n")
    assert _imports(bad) & FORBIDDEN["corpus"] == {"apache_beam", "model"}
    bad.write_text("from model.train.trainer import Trainer\nfrom model.nn import moe\n")
    assert _model_rooms_imported(bad) & MODEL_FORBIDDEN["nn"] == {"train"}
    assert _model_rooms_imported(bad) & MODEL_FORBIDDEN["data"] == {"nn", "train"}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_what_it_is(package):
    missing = [str(p.relative_to(ROOT)) for p in _modules(package)
               if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None]
    assert not missing, f"modules without a docstring: {missing}"


MAX_LINES = 600  # STYLE.md: one concept per file, split before 600 lines


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_outgrows_one_concept(package):
    long = {str(p.relative_to(ROOT)): n for p in _modules(package)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_no_test_reads_what_make_corpus_builds():
    """CI runs ``make test`` on a fresh clone without ``make corpus``: a test that reads
    ``out/`` (the models or the corpus ``make corpus`` builds) passes here and fails there. Tests
    train what they need (``sample_models`` in tests/conftest.py)."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                    and isinstance(node.right, ast.Constant) and node.right.value == "out"
                    and isinstance(node.left, ast.Name) and node.left.id == "ROOT"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
