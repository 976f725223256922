"""Input planning: files, folders and globs classified as crawls, dumps or listings."""

from __future__ import annotations

import gzip
import json

import pytest

from corpus.inputs import plan_inputs


def test_plan_classifies_by_name_and_content(tmp_path):
    (tmp_path / "a.warc.gz").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.arc").write_bytes(b"y" * 5)
    (tmp_path / "forum.jsonl").write_text(json.dumps({"title": "标题", "text": "正文"}) + "\n")
    with gzip.open(tmp_path / "shop.jsonl.gz", "wt") as f:
        f.write("not json\n" + json.dumps({"image": "a.jpg", "text": "商品"}) + "\n")
    (tmp_path / "notes.csv").write_text("a,b\n")
    (tmp_path / "PROVENANCE.md").write_text("where these came from\n")

    plan = plan_inputs([str(tmp_path)])
    assert [p.rsplit("/", 1)[-1] for p in plan.crawl] == ["a.warc.gz", "b.arc"]
    assert [p.rsplit("/", 1)[-1] for p in plan.dumps] == ["forum.jsonl"]
    assert [p.rsplit("/", 1)[-1] for p in plan.listings] == ["shop.jsonl.gz"]
    assert [p.rsplit("/", 1)[-1] for p in plan.skipped] == ["notes.csv"]
    assert plan.total_bytes == sum(plan.sizes.values())
    assert "skipped 1 other files (1 .csv)" in plan.describe()

    globbed = plan_inputs([str(tmp_path / "*.warc.gz"), str(tmp_path / "*.warc.gz")])
    assert len(globbed.crawl) == 1 and not globbed.dumps


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plan_inputs([str(tmp_path / "nope")])
    with pytest.raises(FileNotFoundError, match="matched no files"):
        plan_inputs([str(tmp_path / "*.warc")])


def test_symlinked_files_are_followed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.warc.gz").write_bytes(b"x" * 10)
    (real / "forum.jsonl").write_text(json.dumps({"title": "标题", "text": "正文"}) + "\n")
    links = tmp_path / "links"
    links.mkdir()
    for f in real.iterdir():
        (links / f.name).symlink_to(f)
    (links / "dangling.warc").symlink_to(tmp_path / "gone.warc")

    plan = plan_inputs([str(links)])
    assert [p.rsplit("/", 1)[-1] for p in plan.crawl] == ["a.warc.gz"]
    assert [p.rsplit("/", 1)[-1] for p in plan.dumps] == ["forum.jsonl"]
    assert plan_inputs([str(links / "*.jsonl")]).dumps == plan.dumps
