"""Contract of every corpus stage (STYLE.md, "Tests"): it is a Stage, it has a unique name,
it survives a pickle round trip before and after ``setup()`` (Beam ships stages to workers
pickled), and ``setup()`` may be called twice. Every filter answers ``keep(record) -> Verdict``
and its ``process`` is ``apply_verdict`` of that verdict, nothing else. Stages are found by
walking ``corpus/``, so a new stage is checked without anyone adding it here."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import corpus
from corpus.document import Document
from corpus.quality.config import PerplexityConfig, QualityConfig, SpamConfig
from corpus.stage import Filter, Stage, Verdict, apply_verdict


def _all_stage_classes() -> list[type[Stage]]:
    found = {}
    for info in pkgutil.walk_packages(corpus.__path__, "corpus."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Stage) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


ABSTRACT = {"corpus.stage.Stage", "corpus.stage.Filter", "corpus.readers._FileReader"}
# Two modes of one stage, which share the name so that rejected rows do not depend on the mode.
SAME_NAME = {"ParagraphPerplexity": "PerplexityFilter"}


def _instance(cls: type[Stage], models) -> Stage:
    """Build a stage with its defaults, or with the small real models it needs."""
    if cls.__name__ == "PerplexityFilter":
        return cls(PerplexityConfig(model=str(models["lm"])))
    if cls.__name__ == "ParagraphPerplexity":
        return cls(PerplexityConfig(model=str(models["lm"]), per_paragraph=True))
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
    by_name = {c.__name__: c for c in STAGES}
    for mode, other in SAME_NAME.items():
        assert by_name[mode].name == by_name[other].name
    names = [c.name for c in STAGES if c.__name__ not in SAME_NAME]
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
    assert isinstance(verdict, Verdict) and isinstance(verdict.keep, bool)
    assert verdict.keep or verdict.reason


FILTERS = [c for c in STAGES if issubclass(c, Filter)]


def test_every_quality_filter_is_a_filter():
    """The quality stages of the paper's section 2.3, the perplexity filter included, all answer
    ``keep``; the one transforming quality stage is the paragraph mode of perplexity."""
    names = {c.__name__ for c in FILTERS}
    assert {"CjkShareFilter", "MinLengthFilter", "LanguageFilter", "BadWordsFilter",
            "RepetitionFilter", "SpamFilter", "PerplexityFilter"} <= names
    quality = {c.__name__ for c in STAGES if c.__module__.startswith("corpus.quality.")}
    assert quality - names == {"ParagraphPerplexity"}


@pytest.mark.parametrize("cls", FILTERS, ids=lambda c: c.__name__)
def test_filters_apply_their_verdict_in_one_place(cls, models):
    """``process`` is not overridden: a kept document comes out as a copy with exactly the
    verdict's scores on its quality, the input untouched; a dropped one as its rejected row."""
    assert cls.process is Filter.process
    stage = _instance(cls, models)
    stage.setup()
    docs = [Document(id="zh", source="forum", title="黄河的源头在哪里？",
                     text="黄河发源于青藏高原巴颜喀拉山北麓，流经九个省区，最后注入渤海。"),
            Document(id="en", source="forum", title="x",
                     text="The Yellow River rises in the Bayan Har Mountains.")]
    for doc in docs:
        verdict = stage.keep(doc)
        (out,) = stage.process(doc)
        assert out == apply_verdict(stage.name, doc, verdict)
        assert doc.quality == Document(id="", source="", text="").quality
        if verdict.keep:
            assert set(verdict.scores) <= set(vars(doc.quality))
            assert vars(out.quality) == {**vars(doc.quality), **verdict.scores}
            assert (out.quality is doc.quality) == (not verdict.scores)
        else:
            assert not verdict.scores
            assert (out.stage, out.reason, out.score, out.id) == (
                stage.name, verdict.reason, verdict.score, doc.id)


def test_default_quality_config_round_trips():
    from corpus.config import CorpusConfig

    cfg = CorpusConfig(quality=QualityConfig())
    assert CorpusConfig.from_json(cfg.to_json()) == cfg


def test_a_verdict_is_checked_where_it_is_made_and_applied():
    """A drop has one score (the deciding one); a kept record's scores are Quality fields, so a
    misspelt one is an error, not a value silently lost before the row."""
    doc = Document(id="x", source="forum", text="黄河")
    with pytest.raises(ValueError, match="carries no scores"):
        Verdict(False, "spam", 0.9, None, {"spam_score": 0.9})
    with pytest.raises(ValueError, match="Quality has no field spam_scor"):
        apply_verdict("quality.spam", doc, Verdict.ok(0.1, spam_scor=0.1))
    kept = apply_verdict("quality.spam", doc, Verdict.ok(0.1, spam_score=0.1))
    assert kept.quality.spam_score == 0.1 and doc.quality.spam_score is None
    dropped = apply_verdict("quality.spam", doc, Verdict.drop("spam", 0.9, "P(spam) 0.900"))
    assert (dropped.stage, dropped.reason, dropped.score, dropped.detail, dropped.text) == (
        "quality.spam", "spam", 0.9, "P(spam) 0.900", "黄河")
