"""schemas/layout.py and schemas/statistics.py: the manifest and stats.json as types, byte for byte
the files the pipeline writes, and every malformed or hostile file refused with the field named."""

from __future__ import annotations

import json

import pytest

from schemas.layout import KINDS, MANIFEST_FILE, STATS_FILE, Manifest, ManifestError
from schemas.statistics import CorpusStats, StatsError


def test_the_sample_corpus_manifest_and_stats_round_trip_byte_for_byte(sample_corpus):
    raw = (sample_corpus / MANIFEST_FILE).read_text(encoding="utf-8")
    manifest = Manifest.from_json(raw)
    assert manifest.to_json() == raw
    on_disk = {k: sorted(f"{k}/{p.name}" for p in (sample_corpus / k).glob("*.parquet"))
               for k in KINDS}
    assert {k: manifest.paths(k) for k in KINDS} == on_disk
    assert manifest.rows == json.loads(raw)["rows"] and manifest.rows["text"] > 100

    raw_stats = (sample_corpus / STATS_FILE).read_text(encoding="utf-8")
    stats = CorpusStats.from_json(raw_stats)
    assert stats.to_json() == raw_stats
    assert stats.totals["text"].passages == manifest.rows["text"]
    assert stats.rejected_total == sum(r.count for r in stats.rejected)

    # a section a newer fold adds is carried through, not dropped
    newer = {**json.loads(raw_stats), "pair_languages": {"zh": {"pairs": 3, "share": 1.0}}}
    again = CorpusStats.from_dict(newer)
    assert again.extra["pair_languages"] == {"zh": {"pairs": 3, "share": 1.0}}
    assert again.to_json() == json.dumps(newer, ensure_ascii=False, indent=2, sort_keys=True)


def test_manifest_of_sorts_per_kind_and_fills_every_kind():
    m = Manifest.of([("text/part-00001-of-00002-000.parquet", 3),
                     ("text/part-00000-of-00002-000.parquet", 4),
                     ("rejected/part-00000-of-00001-000.parquet", 0)])
    assert m.paths("text") == ["text/part-00000-of-00002-000.parquet",
                               "text/part-00001-of-00002-000.parquet"]
    assert m.rows == {"text": 7, "image_text": 0, "rejected": 0}
    assert json.loads(m.to_json()) == {
        "files": {"text": [{"path": "text/part-00000-of-00002-000.parquet", "rows": 4},
                           {"path": "text/part-00001-of-00002-000.parquet", "rows": 3}],
                  "image_text": [],
                  "rejected": [{"path": "rejected/part-00000-of-00001-000.parquet", "rows": 0}]},
        "rows": {"text": 7, "image_text": 0, "rejected": 0}}
    assert Manifest.from_json(m.to_json()) == m


def _manifest(text_files, rows=None) -> str:
    data = {"files": {"text": text_files, "image_text": [], "rejected": []}}
    if rows is not None:
        data["rows"] = rows
    return json.dumps(data)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not JSON (JSONDecodeError)"),
    ("[" * 100_000 + "]" * 100_000, "not JSON (RecursionError)"),
    ('{"files": {"text": []}}', "no entry for image_text, rejected"),
    ('{"files": {"text": [], "image_text": [], "rejected": [], "x": []}}', "unknown kinds 'x'"),
    (_manifest([{"path": "../../etc/passwd.parquet", "rows": 1}]),
     "'../../etc/passwd.parquet' is not a text/<name>.parquet shard path"),
    (_manifest([{"path": "text/../../x.parquet", "rows": 1}]), "is not a text/<name>.parquet"),
    (_manifest([{"path": "image_text/a.parquet", "rows": 1}]), "is not a text/<name>.parquet"),
    (_manifest([{"path": "text/_temporary.parquet", "rows": 1}]), "is not a text/<name>"),
    (_manifest([{"path": "text/a.parquet", "rows": -1}]), 'a text entry is not {"path": str'),
    (_manifest([{"path": "text/a.parquet", "rows": True}]), 'a text entry is not {"path": str'),
    (_manifest([{"path": "text/a.parquet", "rows": 2}], rows={"text": 3}),
     '"rows" {\'text\': 3} is not the sum'),
])
def test_a_malformed_or_hostile_manifest_is_refused_with_one_line(text, message):
    with pytest.raises(ManifestError) as e:
        Manifest.from_json(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_stats_refusals_name_the_field(sample_corpus):
    good = json.loads((sample_corpus / STATS_FILE).read_text(encoding="utf-8"))
    cases = [
        ({**good, "format": "other"}, 'not an m6 statistics file (expected "format": "m6.stats")'),
        ({**good, "version": 2}, "statistics version 2; this m6 reads version 1"),
        ({**good, "outputs": {}}, "outputs is {}, not a list"),
        ({**good, "totals": {**good["totals"], "all": {**good["totals"]["all"], "tokens": "9"}}},
         "totals.all.tokens is '9', not a number"),
        ({**good, "outputs": [{**good["outputs"][0], "source": 3}]},
         "outputs[0].source is 3, not a string"),
        ({**good, "rejected": [{**good["rejected"][0], "by_source": {"forum": 1.5}}]},
         "rejected[0].by_source is not an object of integer counts"),
    ]
    for data, message in cases:
        with pytest.raises(StatsError) as e:
            CorpusStats.from_dict(data)
        assert str(e.value) == message
