"""The ``m6`` command like its peers (issue 19.3), run as a user runs it, in a subprocess:
``m6 --version``; a model command without the ``model`` extra (torch made unimportable) is one
line and exit 2; ``m6 poem --check`` imports no torch and checks many files in one call."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

from m6.cli import missing_extra
from schemas.version import VERSION_KEY, m6_version, with_version

ROOT = Path(__file__).resolve().parents[1]
POEMS = ROOT / "tests" / "fixtures" / "poems"

# run m6.cli.main with torch unimportable: sys.modules[name] = None makes ``import name`` raise
# ModuleNotFoundError(name=name), what a Python without the extra does
_WITHOUT = ("import sys\n"
            "for name in {blocked!r}: sys.modules[name] = None\n"
            "from m6.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "print('TORCH_IMPORTED' if sys.modules.get('torch') else 'NO_TORCH', file=sys.stderr)\n"
            "sys.exit(rc)\n")


def m6(*argv: str, blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _WITHOUT.format(blocked=list(blocked)), *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_version():
    res = m6("--version")
    assert res.returncode == 0
    assert res.stdout.startswith(f"m6 {md.version('m6')} (Python {sys.version.split()[0]})")
    assert m6_version() == md.version("m6")


def test_model_commands_without_torch_are_one_line_and_exit_2():
    for command in ("pretrain", "generate", "caption"):
        res = m6(command, "--help", blocked=("torch",))
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2, res.stderr
        assert lines[0] == (f"m6 {command}: torch is not installed; install m6[model]: "
                            "pip install 'm6[model]'"), res.stderr
        assert "Traceback" not in res.stderr and len(lines) == 2  # + the NO_TORCH marker
    # training a tokenizer needs only the core's tokenizers
    assert m6("tokenizer", "--help", blocked=("torch",)).returncode == 0


def test_an_optional_module_names_its_extra_and_others_are_left_alone(monkeypatch):
    # as in a Python without them (other tests of this session may have imported them)
    monkeypatch.setitem(sys.modules, "wandb", None)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    assert missing_extra(ModuleNotFoundError(name="wandb")) == (
        "wandb is not installed; install m6[wandb]: pip install 'm6[wandb]'")
    assert missing_extra(ModuleNotFoundError(name="safetensors.torch")).endswith("'m6[model]'")
    assert missing_extra(ModuleNotFoundError(name="pyarrow")) is None  # core: a broken install
    # an installed package with a part missing is no missing extra: its traceback says which
    monkeypatch.setitem(sys.modules, "wandb", json)
    assert missing_extra(ModuleNotFoundError(name="wandb.sdk.gone")) is None


def test_poem_check_runs_without_torch_on_many_files(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("# 登鹳雀楼\n白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n",
                    encoding="utf-8")
    res = m6("poem", "--check", str(good), str(POEMS / "shijing_120.json"), "--show", "1",
             blocked=("torch",))
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip() == "NO_TORCH"
    out = res.stdout.splitlines()
    assert out[0].startswith(f"{good}: 1 of 1 poems satisfy")
    assert out[1].startswith("FAIL shijing_120.json[0] 关雎: too_many_lines: 20 > 16")
    assert out[2] == "... and 118 more failures"
    assert out[3].startswith(f"{POEMS / 'shijing_120.json'}: 1 of 120 poems satisfy")
    assert len(out) == 4

    res = m6("poem", "--check", str(good), str(good), blocked=("torch",))
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 2

    # one JSON object a line; an unreadable file is exit 2 and the others are still checked
    res = m6("poem", "--check", str(tmp_path / "missing.txt"), str(good), "--json",
             blocked=("torch",))
    assert res.returncode == 2
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows == [{"file": str(tmp_path / "missing.txt"), "error": "No such file or directory"},
                    {"file": str(good), "poems": 1, "pass": 1, "fail": 0, "failures": []}]


def test_poem_check_imports_no_torch_module():
    """``python -X importtime``: no torch module is imported on the way to a check."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "m6.cli", "poem", "--check",
                          str(POEMS / "song_poems_200.json")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 1 and "153 of 200 poems satisfy" in res.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines()
                if line.startswith("import time:")]
    assert "model.apps.poem_format" in imported
    assert [m for m in imported if m.split(".")[0] in ("torch", "tokenizers")] == []


def test_every_config_json_says_which_m6_wrote_it_and_still_loads(tmp_path):
    from corpus.config import CorpusConfig
    from corpus.crawl.cc_config import CcCrawlConfig
    from model.config import RunConfig, load_run_config, save_run_config

    text = CorpusConfig().to_json()
    assert json.loads(text)[VERSION_KEY] == m6_version()
    assert CorpusConfig.from_json(text) == CorpusConfig()
    save_run_config(RunConfig(), tmp_path / "config.json")
    assert json.loads((tmp_path / "config.json").read_text())[VERSION_KEY] == m6_version()
    assert load_run_config(tmp_path / "config.json") == RunConfig()
    cc = CcCrawlConfig(index=("x",))
    assert CcCrawlConfig.from_dict(with_version(cc.to_dict())) == cc


def test_with_version_puts_the_version_first_and_replaces_an_old_one():
    data = with_version({"a": 1, VERSION_KEY: "0.0.1"})
    assert list(data) == [VERSION_KEY, "a"] and data[VERSION_KEY] == m6_version()


def test_the_crawl_group_dispatches_one_level_down(capsys):
    from m6.cli import main

    assert main(["crawl"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: m6 crawl <subcommand>") and "  urls  " in out and "  cc  " in out
    assert main(["crawl", "nope"]) == 2
    assert capsys.readouterr().err.startswith("m6 crawl: unknown subcommand 'nope'")
