"""``m6 corpus`` options: every one shows its help and default, the shortcut flags are the part
switches, and an old config.json or a moved ``--set`` name still works and says what changed.
``--print-config`` resolves the configuration without building anything, so these are fast."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from corpus.config import CorpusConfig
from pipelines.cli import main, parser

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "corpus_config_v1.json"


def printed_config(capsys, *argv: str) -> tuple[dict, str]:
    assert main(["--print-config", *argv]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_every_option_shows_its_help_and_default():
    actions = [a for a in parser()._actions if not isinstance(a, argparse._HelpAction)]
    assert len(actions) == 15
    for action in actions:
        assert action.help and "default" in action.help, action.option_strings
    text = parser().format_help()
    assert "(default: DirectRunner)" in text and "(default: 1)" in text


def test_the_shortcut_flags_are_the_part_switches(capsys):
    cfg, err = printed_config(capsys, "--no-dedup", "--no-quality", "--no-images",
                              "--dedup-against", "old,run", "--set", "dedup.threshold=0.7")
    assert (cfg["dedup"]["enabled"], cfg["quality"]["enabled"], cfg["images"]["enabled"]) == (
        False, False, False)
    assert cfg["run"] == {"crawl_source": "common_crawl", "dedup_against": ["old,run"],
                          "batch_records": 100_000}
    assert cfg["dedup"]["threshold"] == 0.7 and cfg["version"] == 2 and err == ""
    default, _ = printed_config(capsys)
    assert default == json.loads(CorpusConfig().to_json())
    assert (default["dedup"]["enabled"], default["quality"]["enabled"]) == (True, True)


def test_an_old_config_json_and_moved_set_names_still_work_and_say_so(capsys):
    cfg, err = printed_config(capsys, "--config", str(V1), "--set", "run.images=false")
    assert (cfg["dedup"]["enabled"], cfg["quality"]["enabled"], cfg["images"]["enabled"]) == (
        False, False, False)
    lines = err.splitlines()
    assert len(lines) == 9 and all(line.startswith("m6 corpus: deprecated: ") for line in lines)
    assert (f"m6 corpus: deprecated: {V1}: 'dedup.cc_rounds' is no longer read: image "
            "near-duplicates are joined by union-find") in " ".join(lines)
    assert (f"m6 corpus: deprecated: {V1}: 'images.fetch' is now 'fetch'; the old name is "
            "read until config version 3") in lines
    assert (f"m6 corpus: deprecated: {V1}: 'run.dedup' is now 'dedup.enabled'; the old name is "
            "read until config version 3") in lines
    assert ("m6 corpus: deprecated: --set: 'run.images' is now 'images.enabled'; the old name "
            "is read until config version 3") in lines


def test_allow_address_adds_to_the_fetch_config(capsys):
    cfg, _ = printed_config(capsys, "--set", "fetch.allow_addresses=10.0.0.0/8",
                            "--allow-address", "127.0.0.1", "--allow-address", "10.0.0.0/8")
    assert cfg["fetch"]["allow_addresses"] == ["10.0.0.0/8", "127.0.0.1"]
    assert main(["--print-config", "--allow-address", "intranet"]) == 2
    assert capsys.readouterr().err.startswith("m6 corpus: --allow-address 'intranet' is not")


def test_bad_settings_and_missing_inputs_are_one_line_errors(capsys, tmp_path):
    assert main(["--print-config", "--set", "dedup.enabled=perhaps"]) == 2
    assert capsys.readouterr().err.startswith("m6 corpus: dedup.enabled: expected true/false")
    newer = tmp_path / "config.json"
    newer.write_text(json.dumps({"version": 9}))
    assert main(["--print-config", "--config", str(newer)]) == 2
    assert "config version 9 is newer than this m6" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["--output", str(tmp_path / "out")])
    assert e.value.code == 2
    assert "--input and --output are required" in capsys.readouterr().err
