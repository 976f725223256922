"""corpus/clean/length.py: titles under 5 and texts under 15 non-whitespace characters go."""

from __future__ import annotations

from corpus.clean import CleanConfig, MinLengthFilter, visible_length
from corpus.document import Document
from corpus.stage import split
from schemas import RejectedRecord

TEXT_15 = "长城是中国古代的军事防御工程。"  # exactly 15 characters
TEXT_14 = "长城是中国古代的军事防御工程"


def _run(doc, **kw):
    return split(MinLengthFilter(**kw).run([doc]))


def test_visible_length_ignores_whitespace():
    assert visible_length(" 北京 \n 上海\t") == 4
    assert len(TEXT_15) == 15 and visible_length(TEXT_14) == 14


def test_text_at_the_threshold_is_kept_and_one_below_is_dropped():
    kept, rejected = _run(Document(id="1", source="forum", text=TEXT_15, title=None))
    assert [d.id for d in kept] == ["1"] and rejected == []
    kept, rejected = _run(Document(id="2", source="forum", text=TEXT_14, title=None))
    assert kept == []
    (r,) = rejected
    assert isinstance(r, RejectedRecord)
    assert (r.stage, r.reason, r.score) == ("clean.length", "text_too_short", 14.0)
    assert r.detail == "text has 14 characters, minimum 15"
    assert r.text == TEXT_14  # enough of the original to rerun with other thresholds


def test_spaces_do_not_count_towards_the_length():
    kept, rejected = _run(Document(id="1", source="forum", text="a b c d e f g h i j k l m n", title=None))
    assert kept == [] and rejected[0].score == 14.0


def test_title_rule_applies_only_when_a_title_exists():
    kept, _ = _run(Document(id="1", source="forum", text=TEXT_15, title=None))
    assert len(kept) == 1
    _, rejected = _run(Document(id="2", source="forum", text=TEXT_15, title="求助帖"))
    assert (rejected[0].reason, rejected[0].score) == ("title_too_short", 3.0)
    assert rejected[0].title == "求助帖"
    _, rejected = _run(Document(id="3", source="community_qa", text=TEXT_15, title=""))
    assert (rejected[0].reason, rejected[0].score) == ("title_too_short", 0.0)
    kept, _ = _run(Document(id="4", source="forum", text=TEXT_15, title="如何学习汉语"))
    assert len(kept) == 1


def test_encyclopedia_titles_are_entry_names_and_skip_the_title_rule():
    doc = Document(id="1", source="encyclopedia", text=TEXT_15, title="长城")
    kept, _ = _run(doc)
    assert len(kept) == 1
    _, rejected = _run(doc, title_rule_skip_sources=())
    assert rejected[0].reason == "title_too_short"


def test_text_rule_wins_when_both_fail():
    _, rejected = _run(Document(id="1", source="forum", text="太短", title="短"))
    assert rejected[0].reason == "text_too_short"


def test_thresholds_come_from_the_config():
    f = MinLengthFilter.from_config(CleanConfig(min_text_chars=3, min_title_chars=1))
    kept, _ = split(f.run([Document(id="1", source="forum", text="你好吗", title="问")]))
    assert len(kept) == 1


def test_crawled_page_titles_are_names_but_forum_topics_obey_the_rule():
    from corpus.clean import clean_stages
    from corpus.stage import split

    page = Document(id="p", source="common_crawl", text=TEXT_15, title="长江")
    topic = Document(id="f", source="forum", text=TEXT_15, title="求助")
    outputs = [page, topic]
    for stage in clean_stages():
        outputs = [o for rec in outputs
                   for o in (stage.process(rec) if not hasattr(rec, "reason") else [rec])]
    kept, rejected = split(outputs)
    assert [d.id for d in kept] == ["p"]
    assert [(r.id, r.reason) for r in rejected] == [("f", "title_too_short")]
