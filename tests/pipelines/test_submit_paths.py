"""Local paths of a corpus run are made absolute before submission, URLs are left alone, and a
local path sent to workers on another machine gets a warning (pipelines/submit_paths.py)."""

from __future__ import annotations

import socket
from pathlib import Path

from corpus.config import CorpusConfig, apply_overrides
from pipelines.submit_paths import (
    absolute,
    absolute_config,
    is_this_machine,
    remote_path_warnings,
)


def test_every_local_path_of_the_config_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = apply_overrides(CorpusConfig(), [
        "quality.spam.model=out/models/spam/spam.bin",
        "quality.perplexity.model=models/lm.bin",
        "quality.perplexity.reference=s3://bucket/ref.json",
        "quality.language.model=~/lid.176.bin",
        "quality.badwords.lists=zh,mine=lists/mine.txt",
        "quality.badwords.allow=zh_allow,ok=file:///srv/ok.txt",
        "run.dedup_against=old,gs://b/older",
        "images.listing_roots=shop",
    ])
    got = absolute_config(cfg)
    home = str(Path.home())
    assert got.quality.spam.model == f"{tmp_path}/out/models/spam/spam.bin"
    assert got.quality.perplexity.model == f"{tmp_path}/models/lm.bin"
    assert got.quality.perplexity.reference == "s3://bucket/ref.json"
    assert got.quality.language.model == f"{home}/lid.176.bin"
    assert got.quality.badwords.lists == ("zh", f"mine={tmp_path}/lists/mine.txt")
    assert got.quality.badwords.allow == ("zh_allow", "ok=/srv/ok.txt")
    assert got.quality.badwords.weak == ("zh_weak", "en_weak")
    assert got.run.dedup_against == (f"{tmp_path}/old", "gs://b/older")
    assert got.images.listing_roots == (f"{tmp_path}/shop",)
    assert absolute_config(got) == got
    assert absolute("a/../b/") == f"{tmp_path}/b"


def test_this_machine_and_other_machines():
    assert is_this_machine("127.0.0.1") and is_this_machine("localhost")
    assert is_this_machine(socket.gethostname())
    assert not is_this_machine("192.0.2.7")  # TEST-NET-1, never a local address
    assert not is_this_machine("no-such-host.invalid")


def test_a_remote_cluster_gets_one_warning_per_local_path():
    cfg = apply_overrides(CorpusConfig(), ["quality.spam.model=/srv/spam.bin"])
    inputs, output = ["/data/crawl", "s3://b/more"], "/out/corpus"
    remote = remote_path_warnings(inputs, output, cfg, "DaskRunner",
                                  ["--dask_client_address=tcp://192.0.2.7:8786"])
    assert [w.split(" ", 1)[0] for w in remote] == ["/data/crawl", "/out/corpus", "/srv/spam.bin"]
    assert "the dask cluster at tcp://192.0.2.7:8786 may not see" in remote[0]
    assert len(remote_path_warnings(inputs, output, cfg, "DaskRunner",
                                    ["--dask_client_address", "192.0.2.7:8786"])) == 3
    assert remote_path_warnings(inputs, output, cfg, "DaskRunner",
                                ["--dask_client_address=127.0.0.1:8786"]) == []
    assert remote_path_warnings(inputs, output, cfg, "DirectRunner", []) == []
    assert len(remote_path_warnings(inputs, output, cfg, "DataflowRunner", [])) == 3
    assert remote_path_warnings(["gs://b/in"], "gs://b/out", CorpusConfig(), "DataflowRunner",
                                []) == []
