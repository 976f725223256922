"""Contract of every corpus stage (STYLE.md, "Tests"): it is a Stage, it has a unique name,
it survives a pickle round trip before and after ``setup()`` (Beam ships stages to workers
pickled), and ``setup()`` may be called twice. Stages are found by walking ``corpus/``, so a new
stage is checked without anyone adding it here."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import corpus
from corpus.document import Document
from corpus.quality.config import PerplexityConfig, QualityConfig, SpamConfig
from corpus.stage import Filter, Stage


def _all_stage_classes() -> list[type[Stage]]:
    found = {}
    for info in pkgutil.walk_packages(corpus.__path__, "corpus."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Stage) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


ABSTRACT = {"corpus.stage.Stage", "corpus.stage.Filter", "corpus.quality.scores.ScoringFilter"}


def _instance(cls: type[Stage], models) -> Stage:
    """Build a stage with its defaults, or with the small real models it needs."""
    if cls.__name__ == "PerplexityFilter":
        return cls(PerplexityConfig(model=str(models["lm"])))
    if cls.__name__ == "SpamFilter":
        return cls(SpamConfig(model=str(models["spam"])))
    return cls()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from pathlib import Path

    from corpus.quality.lm_cli import main as lm_main
    from corpus.quality.spam_cli import main as spam_main

    root = Path(__file__).resolve().parents[2] / "data" / "sample"
    tmp = tmp_path_factory.mktemp("models")
    assert lm_main(["train", "--input", str(root / "dumps/encyclopedia.jsonl"), "--order", "3",
                    "--out", str(tmp / "lm.bin")]) == 0
    assert spam_main(["train", "--input", str(root / "spam/labelled.jsonl"),
                      "--out", str(tmp / "spam.bin")]) == 0
    return {"lm": tmp / "lm.bin", "spam": tmp / "spam.bin"}


STAGES = [c for c in _all_stage_classes() if f"{c.__module__}.{c.__qualname__}" not in ABSTRACT]


def test_the_walk_finds_the_stages_of_every_part():
    modules = {c.__module__.split(".")[1] for c in STAGES}
    assert {"clean", "extract", "quality", "images", "readers", "fetch"} <= modules
    assert len(STAGES) >= 15


def test_stage_names_are_unique():
    names = [c.name for c in STAGES]
    assert len(names) == len(set(names)), sorted(names)
    assert "stage" not in names


@pytest.mark.parametrize("cls", STAGES, ids=lambda c: c.__name__)
def test_stage_pickles_before_and_after_setup(cls, models):
    stage = _instance(cls, models)
    again = pickle.loads(pickle.dumps(stage))
    assert type(again) is cls
    stage.setup()
    stage.setup()  # idempotent
    after = pickle.loads(pickle.dumps(stage))
    after.setup()
    assert type(after) is cls


@pytest.mark.parametrize("cls", [c for c in STAGES if issubclass(c, Filter)],
                         ids=lambda c: c.__name__)
def test_filters_give_a_verdict_on_a_real_document(cls, models):
    stage = _instance(cls, models)
    stage.setup()
    doc = Document(id="x", source="forum", title="黄河的源头在哪里？",
                   text="黄河发源于青藏高原巴颜喀拉山北麓，流经九个省区，最后注入渤海。")
    verdict = stage.keep(doc)
    assert isinstance(verdict.keep, bool)
    assert verdict.keep or verdict.reason


def test_default_quality_config_round_trips():
    from corpus.config import CorpusConfig

    cfg = CorpusConfig(quality=QualityConfig())
    assert CorpusConfig.from_json(cfg.to_json()) == cfg
