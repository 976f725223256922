"""corpus/inspect: `m6 inspect` on real Parquet shards written with the project schemas."""

from __future__ import annotations

import io
import json
import os

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from corpus.inspect import main
from corpus.inspect.batches import file_batches, to_sql
from corpus.inspect.cli import head
from corpus.inspect.files import InspectError
from m6.cli import main as m6_main
from schemas import (
    IMAGE_TEXT_SCHEMA,
    REJECTED_SCHEMA,
    TEXT_SCHEMA,
    ImageTextRecord,
    RejectedRecord,
    TextRecord,
    make_id,
)
from schemas.image_column import with_image_structs
from schemas.layout import Manifest

LONG = "还没有收到书！" * 30  # 210 characters


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _write(path, rows, schema, **kw):
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd", **kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, write_manifest):
    """A small output folder like the pipeline's: text (3 row groups), image_text, rejected,
    and a half-written shard under _temporary that inspect must skip."""
    root = tmp_path_factory.mktemp("corpus")
    for kind in ("text", "image_text", "rejected", "_temporary"):
        (root / kind).mkdir()
    texts = [TextRecord(id=make_id("forum" if i < 6 else "encyclopedia", str(i)),
                        source="forum" if i < 6 else "encyclopedia",
                        text=LONG if i == 0 else f"第{i}段正文，北京欢迎你。",
                        title=None if i % 2 else f"标题{i}",
                        n_chars=210 if i == 0 else 11, n_tokens=180 if i == 0 else 8,
                        cjk_ratio=1.0).to_row() for i in range(10)]
    _write(root / "text" / "part-00000-of-00001-000.parquet", texts, TEXT_SCHEMA,
           row_group_size=4)
    pairs = [ImageTextRecord(id=make_id("ecommerce", str(i)), source="ecommerce",
                             text=f"红色连衣裙{i}号", image=_jpeg(64 + i, 48), format="JPEG",
                             width=64 + i, height=48, orig_width=64 + i, orig_height=48,
                             sha256="0" * 64, n_chars=7, n_tokens=6).to_row() for i in range(3)]
    _write(root / "image_text" / "part-00000-of-00001-000.parquet", with_image_structs(pairs),
           IMAGE_TEXT_SCHEMA)
    rejected = [RejectedRecord(id=str(i), source="forum" if i < 3 else "common_crawl",
                               kind="text", stage="clean.length",
                               reason="text_too_short" if i < 4 else "title_too_short",
                               score=float(i), text="短").to_row() for i in range(5)]
    _write(root / "rejected" / "part-00000-of-00001-000.parquet", rejected, REJECTED_SCHEMA)
    (root / "_temporary" / "junk.parquet").write_bytes(b"half-written")
    return write_manifest(root)


def _json(capsys, argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_summary_from_the_footers(corpus, capsys):
    code, report = _json(capsys, [str(corpus)])
    assert code == 0
    files = {f["path"].split("/")[-2]: f for f in report["files"]}
    assert set(files) == {"text", "image_text", "rejected"}  # _temporary skipped
    assert (files["text"]["schema"], files["text"]["version"], files["text"]["rows"],
            files["text"]["row_groups"], files["text"]["compression"]) == \
        ("text", "1.0", 10, 3, ["zstd"])
    path = corpus / "text" / "part-00000-of-00001-000.parquet"
    assert files["text"]["bytes"] == os.path.getsize(path)
    assert report["total"]["rows"] == 18 and report["total"]["files"] == 3
    assert report["total"]["by_schema"]["rejected"] == {
        "files": 1, "rows": 5, "bytes": os.path.getsize(
            corpus / "rejected" / "part-00000-of-00001-000.parquet")}

    assert main([str(corpus / "text")]) == 0
    out = capsys.readouterr().out
    assert "part-00000-of-00001-000.parquet  text    1.0        10           3" in out
    assert "Total: 1 file, 10 rows, 3 row groups" in out


def test_a_corpus_folder_shows_its_stats_json(corpus, tmp_path, capsys, write_manifest):
    from corpus.stats import compute_stats, to_json

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "text").mkdir()
    src = corpus / "text" / "part-00000-of-00001-000.parquet"
    (folder / "text" / src.name).write_bytes(src.read_bytes())
    table = pq.read_table(src)
    stats = compute_stats(("text", row) for row in table.to_pylist())
    (folder / "stats.json").write_text(to_json(stats), encoding="utf-8")
    write_manifest(folder)
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"From {folder}/stats.json:" in out
    assert "Forum discussion  Plain-text       -     220         6" in out
    code, report = _json(capsys, [str(folder)])
    assert report["corpus_stats"][f"{folder}/stats.json"] == stats

    (folder / "stats.json").write_text("{}", encoding="utf-8")
    assert main([str(folder)]) == 0
    assert "stats.json: not readable as m6 statistics" in capsys.readouterr().out


def test_head_shows_chinese_cuts_long_text_and_sizes_images(corpus, capsys):
    assert main([str(corpus / "text"), "--head", "2", "--width", "12"]) == 0
    out = capsys.readouterr().out
    assert "还没有收到书！还没有收到… (210 chars)" in out  # cut after 12 characters
    assert "\\u" not in out
    assert "第1段正文，北京欢迎你。" in out
    assert "First 2 rows" in out and "row 2" not in out

    assert main([str(corpus / "image_text"), "--head", "1"]) == 0
    out = capsys.readouterr().out
    size = len(_jpeg(64, 48))
    assert f"  image        JPEG 64x48, {size} B ({size:,} bytes)\n" in out

    _, report = _json(capsys, [str(corpus / "image_text"), "--head", "1"])
    values = report["head"][0]["values"]
    assert values["image"] == {"bytes": size, "format": "JPEG", "width": 64, "height": 48}
    assert values["text"] == "红色连衣裙0号" and report["head"][0]["row"] == 0


def test_head_stops_reading_after_the_first_row_group(tmp_path):
    """A 40-row-group shard: --head 5 reads the footer and one row group, not the file."""
    path = tmp_path / "big.parquet"
    rows = [TextRecord(id=f"{i:032x}", source="forum", text=os.urandom(2000).hex() + "中文",
                       n_chars=4002, n_tokens=2).to_row() for i in range(1000)]
    _write(path, rows, TEXT_SCHEMA, row_group_size=25)
    size = os.path.getsize(path)

    class CountingFile(io.RawIOBase):
        """A real file that counts the bytes read through it."""

        def __init__(self, f):
            self.f, self.read_bytes = f, 0

        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, offset, whence=0):
            return self.f.seek(offset, whence)

        def tell(self):
            return self.f.tell()

        def readinto(self, b):
            n = self.f.readinto(b)
            self.read_bytes += n
            return n

    with open(path, "rb") as raw:
        counting = CountingFile(raw)
        pf = pq.ParquetFile(counting, pre_buffer=False)
        assert pf.metadata.num_row_groups == 40
        footer = counting.read_bytes
        rows_read = head(file_batches(pf, str(path), batch_size=5), 5)
        assert [r for _, r, _ in rows_read] == [0, 1, 2, 3, 4]
        one_group = sum(pf.metadata.row_group(0).column(j).total_compressed_size
                        for j in range(pf.metadata.num_columns))
        assert counting.read_bytes - footer <= 2 * one_group
        assert counting.read_bytes < size / 4, (footer, one_group, size)


def test_stats_per_column(corpus, capsys):
    code, report = _json(capsys, [str(corpus), "--stats"])
    assert code == 0
    text = report["stats"]["text"]
    assert text["title"]["nulls"] == 5 and text["title"]["rows"] == 10
    assert (text["text"]["min"], text["text"]["max"]) == (12, 210)
    assert text["text"]["mean"] == round((210 + 9 * 12) / 10, 3)
    assert text["source"]["top"] == [["forum", 6], ["encyclopedia", 4]]
    assert (text["n_tokens"]["min"], text["n_tokens"]["max"], text["n_tokens"]["of"]) == \
        (8, 180, "value")
    assert text["perplexity"]["nulls"] == 10 and text["perplexity"]["min"] is None
    rejected = report["stats"]["rejected"]
    assert rejected["reason"]["top"] == [["text_too_short", 4], ["title_too_short", 1]]
    assert rejected["source"]["top"] == [["forum", 3], ["common_crawl", 2]]
    image = report["stats"]["image_text"]["image"]
    assert image["of"] == "bytes" and image["min"] == len(_jpeg(64, 48))

    assert main([str(corpus / "rejected"), "--stats"]) == 0
    out = capsys.readouterr().out
    assert "reason        string      0  chars   14  14.2   15  text_too_short (4), " \
           "title_too_short (1)" in out


def test_validate_accepts_project_shards(corpus, capsys):
    assert main([str(corpus), "--validate"]) == 0
    out = capsys.readouterr().out
    assert "all 3 files match their m6 schema" in out


def test_validate_names_the_mismatched_columns(corpus, tmp_path, capsys):
    bad_schema = pa.schema(
        [f if f.name != "n_tokens" else pa.field("n_tokens", pa.int64(), nullable=False)
         for f in TEXT_SCHEMA if f.name != "title"] + [pa.field("extra", pa.string())],
        metadata=TEXT_SCHEMA.metadata)
    bad = tmp_path / "bad.parquet"
    row = {f.name: None for f in bad_schema}
    row.update(id="x", source="forum", text="第一段正文内容", n_chars=7, n_tokens=7)
    pq.write_table(pa.Table.from_pylist([row], schema=bad_schema), bad)
    good = corpus / "text" / "part-00000-of-00001-000.parquet"

    assert main([str(good), str(bad), "--validate"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {bad}: missing column 'title' (string); column 'n_tokens' has type int64, " \
           "expected int32; unexpected column 'extra'" in out
    assert f"OK    {good}" in out and "1 of 2 files do not match their m6 schema" in out

    code, report = _json(capsys, [str(bad), "--validate"])
    assert code == 1 and report["validation"][0]["ok"] is False
    assert "column 'n_tokens' has type int64, expected int32" in report["validation"][0]["problems"]


def test_validate_reports_an_unreadable_file_and_goes_on(corpus, capsys):
    junk = corpus / "_temporary" / "junk.parquet"
    good = corpus / "rejected" / "part-00000-of-00001-000.parquet"
    assert main([str(junk), str(good), "--validate"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {junk}: not a readable Parquet file" in out
    assert f"OK    {good}" in out


def test_columns_select_what_head_and_stats_show(corpus, capsys):
    code, report = _json(capsys, [str(corpus), "--columns", "source,reason", "--head", "20",
                                  "--stats"])
    assert code == 0
    assert {tuple(h["values"]) for h in report["head"]} == {("source",), ("source", "reason")}
    assert len(report["head"]) == 18
    assert {k: list(v) for k, v in report["stats"].items()} == {
        "text": ["source"], "image_text": ["source"], "rejected": ["source", "reason"]}
    assert main([str(corpus), "--columns", "sorce", "--head", "1"]) == 2
    assert "--columns: no column 'sorce' in these files" in capsys.readouterr().err


def test_validate_a_file_without_m6_metadata(corpus, tmp_path, capsys):
    plain = tmp_path / "plain.parquet"
    table = pq.read_table(corpus / "text" / "part-00000-of-00001-000.parquet")
    pq.write_table(table.replace_schema_metadata(None), plain)
    assert main([str(plain), "--validate"]) == 1
    assert "no m6.schema in the schema metadata" in capsys.readouterr().out
    assert main([str(plain), "--validate", "--kind", "text"]) == 0
    assert main([str(plain), "--validate", "--kind", "rejected"]) == 1
    assert "missing column 'reason' (string)" in capsys.readouterr().out


def test_where_filters_head_stats_and_counts(corpus, capsys):
    code, report = _json(capsys, [str(corpus), "--where", 'source == "forum"', "--head", "3",
                                  "--stats"])
    assert code == 0
    assert report["where"]["matches"] == {"image_text": 0, "rejected": 3, "text": 6}
    assert [h["values"]["source"] for h in report["head"]] == ["forum"] * 3
    assert report["stats"]["text"]["source"]["top"] == [["forum", 6]]
    assert report["stats"]["rejected"]["reason"]["top"] == [["text_too_short", 3]]

    code, report = _json(capsys, [str(corpus), "--where",
                                  'reason == "title_too_short" and score > 3', "--head", "5"])
    assert code == 0 and report["where"]["matches"] == {"rejected": 1}
    assert set(report["where"]["skipped"]) == {"text", "image_text"}  # they have no `reason`
    assert [(h["row"], h["values"]["reason"]) for h in report["head"]] == [(4, "title_too_short")]


def test_where_errors_are_clear(corpus, capsys):
    assert main([str(corpus), "--where", 'sourc == "forum"']) == 2
    assert 'Referenced column "sourc" not found' in capsys.readouterr().err
    assert main([str(corpus), "--where", 'source == "forum"; DROP TABLE x']) == 2
    assert "';' is not allowed" in capsys.readouterr().err


def test_where_expression_translation():
    assert to_sql('source == "forum" and title is not None') == \
        "source == 'forum' and title is not NULL"
    assert to_sql('text == "他说\\"好\\"" or text == "it\'s"') == \
        "text == '他说\"好\"' or text == 'it''s'"
    assert to_sql("source in ('forum', 'encyclopedia')") == \
        "source in ('forum', 'encyclopedia')"
    assert to_sql("Nonexistent > 1") == "Nonexistent > 1"
    with pytest.raises(InspectError, match="unterminated string"):
        to_sql('source == "forum')


def test_image_is_written_byte_for_byte(corpus, tmp_path, capsys):
    out = tmp_path / "one.jpg"
    assert main([str(corpus), "--image", "2", "--out", str(out)]) == 0
    assert out.read_bytes() == _jpeg(66, 48)
    assert Image.open(out).size == (66, 48)
    assert "wrote the image of row 2 of" in capsys.readouterr().out

    out2 = tmp_path / "match.jpg"
    assert main([str(corpus), "--where", 'text == "红色连衣裙1号"', "--image", "0",
                 "--out", str(out2)]) == 0
    assert Image.open(out2).size == (65, 48)


def test_image_errors(corpus, tmp_path, capsys):
    out = str(tmp_path / "x.jpg")
    assert main([str(corpus), "--image", "3", "--out", out]) == 2
    assert "--image 3: no such row in all image_text rows" in capsys.readouterr().err
    assert main([str(corpus / "text"), "--image", "0", "--out", out]) == 2
    assert "--image needs image_text shards; the files given hold text" in capsys.readouterr().err
    assert main([str(corpus), "--image", "0"]) == 2
    assert "--image ROW and --out FILE go together" in capsys.readouterr().err


def test_paths_globs_and_urls(corpus, capsys):
    code, report = _json(capsys, [str(corpus / "*" / "part-*.parquet")])
    assert code == 0 and report["total"]["files"] == 3
    assert main([str(corpus / "nothing_here")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main([str(corpus / "*.csv")]) == 2
    assert "no Parquet files there" in capsys.readouterr().err
    assert main([str(corpus / "_temporary" / "junk.parquet")]) == 2
    assert "not a readable Parquet file" in capsys.readouterr().err

    fs = fsspec.filesystem("memory")
    src = corpus / "rejected" / "part-00000-of-00001-000.parquet"
    fs.pipe("/inspect-test/rejected/part-0.parquet", src.read_bytes())
    fs.pipe("/inspect-test/manifest.json", Manifest.of([("rejected/part-0.parquet", 5)])
            .to_json().encode())
    try:
        code, report = _json(capsys, ["memory://inspect-test", "--where",
                                      'source == "common_crawl"', "--head", "5"])
        assert code == 0
        assert report["files"][0]["path"] == "memory:///inspect-test/rejected/part-0.parquet"
        assert report["where"]["matches"] == {"rejected": 2}
        assert [h["row"] for h in report["head"]] == [3, 4]
    finally:
        fs.rm("/inspect-test", recursive=True)


def test_the_m6_command_dispatches_here(corpus, capsys):
    assert m6_main(["inspect", str(corpus / "text"), "--head", "1"]) == 0
    assert "还没有收到书！" in capsys.readouterr().out


def test_image_text_1_0_shards_still_read(tmp_path, capsys, write_manifest):
    """Shards written before image_text 2.0 (``image`` as plain binary) head, validate and
    give their images back, beside 2.0 shards in the same folder."""
    from schemas.arrow import IMAGE_TEXT_SCHEMA_V1

    root = tmp_path / "old"
    (root / "image_text").mkdir(parents=True)
    pairs = [ImageTextRecord(id=make_id("ecommerce", f"v{i}"), source="ecommerce",
                             text=f"蓝色衬衫{i}号", image=_jpeg(40 + i, 30), format="JPEG",
                             width=40 + i, height=30, orig_width=40 + i, orig_height=30,
                             sha256="0" * 64, n_chars=6, n_tokens=5).to_row() for i in range(2)]
    _write(root / "image_text" / "part-00000-of-00002-000.parquet", pairs[:1], IMAGE_TEXT_SCHEMA_V1)
    _write(root / "image_text" / "part-00001-of-00002-000.parquet", with_image_structs(pairs[1:]),
           IMAGE_TEXT_SCHEMA)
    write_manifest(root)
    assert main([str(root), "--validate"]) == 0
    capsys.readouterr()
    assert main([str(root / "image_text"), "--head", "2"]) == 0
    out = capsys.readouterr().out
    for i in range(2):
        size = len(_jpeg(40 + i, 30))
        assert f"  image        JPEG {40 + i}x30, {size} B ({size:,} bytes)\n" in out
    for i in range(2):
        target = tmp_path / f"{i}.jpg"
        assert main([str(root), "--image", str(i), "--out", str(target)]) == 0
        assert target.read_bytes() == _jpeg(40 + i, 30)
    assert main([str(root), "--stats"]) == 0
