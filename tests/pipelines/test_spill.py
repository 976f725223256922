"""pipelines.spill: a batch spilled and read back is the same values; the same bytes keep
one file (a retried bundle finds its own and leaves it be), other bytes get their own; the run's
folder is named by run or batch and removed whole, with the bytes it held."""

from __future__ import annotations

import os

from corpus.dedup.packed import pack, unpack
from corpus.document import Document
from pipelines.spill import load, remove_spill, spill, spill_folder
from schemas import make_id

TEXTS = ["今天北京的天气很好，适合出去走走。", "上海明天有雨，出门记得带伞。"]


def _docs() -> list[tuple[str, tuple]]:
    return [(f"v{i}", pack(Document(id=make_id("news", str(i)), source="news", text=t,
                                    url=f"https://news.example.cn/{i}")))
            for i, t in enumerate(TEXTS)]


def test_spilled_values_read_back_equal_and_one_file_per_content(tmp_path):
    folder = spill_folder(str(tmp_path), 3)
    assert folder == f"{tmp_path}/_spill/batch-00003"
    assert spill_folder(str(tmp_path)) == f"{tmp_path}/_spill/run"
    docs = _docs()
    path = spill(folder, "0123456789ab", "docs", docs)
    back = load(path)
    assert back == docs and [unpack(p).text for _, p in back] == TEXTS
    before = os.stat(path).st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))  # a retried bundle must not rewrite it
    assert spill(folder, "0123456789ab", "docs", _docs()) == path
    assert os.stat(path).st_mtime_ns == before - 10**9
    other = spill(folder, "0123456789ab", "docs", docs[:1])  # other bytes, another file
    assert other != path and load(other) == docs[:1]
    held = os.path.getsize(path) + os.path.getsize(other)
    assert remove_spill(str(tmp_path)) == held


def test_remove_spill_counts_every_run_folder(tmp_path):
    a = spill(spill_folder(str(tmp_path), 0), "aaaaaaaaaaaa", "texts", [("v", "n", b"\x00" * 8)])
    b = spill(spill_folder(str(tmp_path), 1), "bbbbbbbbbbbb", "docs", _docs())
    held = os.path.getsize(a) + os.path.getsize(b)
    assert remove_spill(str(tmp_path)) == held
    assert not (tmp_path / "_spill").exists()
    assert remove_spill(str(tmp_path)) == 0
