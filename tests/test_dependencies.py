"""Every dependency earns its place (issue 19.4): the imports of m6's own modules, walked with
``ast`` (lazy imports inside functions included) and mapped to distributions with
``importlib.metadata.packages_distributions``, against the lists of ``pyproject.toml``.

- a core module (schemas, corpus, pipelines, report, m6) imports only the standard library, m6
  itself and core dependencies, so ``pip install m6`` is enough to run it;
- a model module imports core, ``model`` extra and ``wandb`` extra dependencies only;
- every core and model dependency is imported by some module, or named in ``INDIRECT`` with what
  uses it (a declared package nothing uses is weight on every worker);
- the installed closure of the core dependencies holds no torch and no test tool.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("m6", "schemas", "corpus", "pipelines", "report")
OWN = {*CORE_PACKAGES, "model"}

# declared, never imported by name: what uses them
INDIRECT = {
    "aiohttp": "fsspec's HTTP filesystem (m6 crawl cc reads Common Crawl's index over HTTPS)",
    "dask": "Beam's DaskRunner runs on it (pipelines/dask_runner.py imports distributed)",
    "tensorboard": "torch.utils.tensorboard writes the training event files",
}
# imported lazily, on one path only, with their own install message; deliberately undeclared
UNDECLARED_OPTIONAL = {
    "torchvision": "the resnet50 image encoder (model/nn/patch_encoder.py): its release must "
                   "match the user's torch, so the user installs it",
}
TEST_TOOLS = {"pytest", "pytest-timeout", "ruff", "datasketch", "trafilatura", "playwright",
              "build", "psutil"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lists = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {name: [Requirement(r) for r in reqs] for name, reqs in lists.items()}


def with_extras(reqs: list[Requirement]) -> set[str]:
    """The distributions ``reqs`` name, plus those their extras pull in (``apache-beam[dask]``
    brings ``dask`` and ``distributed``), read from the installed metadata."""
    names = set()
    for req in reqs:
        names.add(canonical(req.name))
        for extra in req.extras:
            for sub in md.requires(req.name) or []:
                r = Requirement(sub)
                if r.marker and r.marker.evaluate({"extra": extra}):
                    names.add(canonical(r.name))
    return names


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level name of every non-stdlib, non-m6 import -> the modules that make it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


DISTRIBUTIONS = md.packages_distributions()


def distributions_of(top: str) -> set[str]:
    return {canonical(d) for d in DISTRIBUTIONS.get(top, [])}


def _wrong_imports(packages: tuple[str, ...], allowed: set[str]) -> list[str]:
    wrong = []
    for package in packages:
        for top, where in sorted(imports_of(package).items()):
            if top in UNDECLARED_OPTIONAL:
                continue
            dists = distributions_of(top)
            if not dists:
                wrong.append(f"{top} (no installed distribution provides it): {sorted(where)[0]}")
            elif not dists & allowed:
                wrong.append(f"{top} ({', '.join(sorted(dists))}): {sorted(where)[0]}")
    return wrong


def test_core_modules_import_only_core_dependencies():
    lists = declared()
    assert _wrong_imports(CORE_PACKAGES, with_extras(lists["core"])) == []


def test_model_modules_import_only_core_model_and_wandb_dependencies():
    lists = declared()
    allowed = with_extras(lists["core"] + lists["model"] + lists["wandb"])
    assert _wrong_imports(("model",), allowed) == []


def test_every_core_and_model_dependency_is_used():
    lists = declared()
    imported = set()
    for package in (*CORE_PACKAGES, "model"):
        for top in imports_of(package):
            imported |= distributions_of(top)
    unused = {canonical(r.name) for r in lists["core"] + lists["model"] + lists["wandb"]}
    unused -= imported | {canonical(n) for n in INDIRECT}
    assert unused == set()
    # and the charset detector that only a comment mentions is gone
    assert "charset-normalizer" not in {canonical(r.name) for r in lists["core"]}


def test_test_tools_and_torch_stay_out_of_the_core():
    lists = declared()
    core = {canonical(r.name) for r in lists["core"]}
    assert core & TEST_TOOLS == set()
    assert {"torch", "safetensors", "tensorboard", "wandb"} & core == set()
    assert TEST_TOOLS <= {canonical(r.name) for r in lists["dev"]}
    assert "wandb" in {canonical(r.name) for r in lists["dev"]}


def _closure(names: set[str]) -> set[str]:
    """Installed distributions ``pip install`` of ``names`` pulls (no extras beyond those
    named), walked through the installed metadata."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for sub in reqs:
            r = Requirement(sub)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(canonical(r.name))
    return seen


def test_pip_install_m6_pulls_no_torch_and_no_test_tools():
    closure = _closure(with_extras(declared()["core"]))
    assert "apache-beam" in closure and "pyarrow" in closure  # the walk reaches real packages
    assert closure & {"torch", "pytest", "ruff", "datasketch", "playwright", "wandb"} == set()


@pytest.mark.parametrize("top, dist", [("PIL", "pillow"), ("apache_beam", "apache-beam"),
                                       ("ahocorasick", "pyahocorasick")])
def test_import_names_map_to_their_distributions(top, dist):
    assert dist in distributions_of(top)
