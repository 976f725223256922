"""The ``m6`` command. Each subcommand lives in the package it belongs to and is imported only
when it runs, so ``m6 inspect`` never pays for importing torch and ``m6 generate`` never imports
Beam.

A subcommand module exposes ``main(argv: list[str]) -> int`` and builds its own parser with
``prog="m6 <name>"``. To add one, add a line to ``COMMANDS``; a command group (``m6 crawl urls``,
``m6 crawl cc``) is a line of ``GROUPS``, dispatched the same way one level down.

The model commands need the ``model`` extra (torch and friends), which ``pip install m6`` leaves
out so corpus workers stay small. Without it a command says so in one line and exits 2 (pip's and
git's convention for a usage problem), the way ``datasets`` names the extra a feature needs,
instead of ending in a ``ModuleNotFoundError`` traceback. ``EXTRAS`` maps an optional
distribution's import name to the extra that brings it.
"""

from __future__ import annotations

import importlib
import sys

# import name of an optional dependency -> the extra of pyproject.toml that installs it
EXTRAS: dict[str, str] = {
    "torch": "model",
    "safetensors": "model",
    "tensorboard": "model",
    "wandb": "wandb",
}

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "corpus": ("pipelines.cli", "build the corpus with Beam (text, image_text, rejected shards)"),
    "crawl": ("", "get the crawl: URL lists politely (urls), Common Crawl (cc)"),
    "inspect": ("corpus.inspect", "look inside Parquet shards: schema, counts, rows, stats"),
    "report": ("report.cli", "one HTML page about a corpus (and training) run: charts, samples"),
    "lm": ("corpus.quality.lm_cli", "train a kenlm language model (m6 lm train)"),
    "spam": ("corpus.quality.spam_cli", "train a fasttext spam classifier (m6 spam train)"),
    "tokenizer": ("model.cli.tokenizer", "train a WordPiece tokenizer (m6 tokenizer train)"),
    "params": ("model.cli.params", "print the parameter count of a model preset"),
    "pretrain": ("model.cli.pretrain", "pretrain the M6 model from corpus shards"),
    "generate": ("model.cli.generate", "generate text from a prompt"),
    "caption": ("model.apps.caption_cli", "describe an image"),
    "vqa": ("model.apps.vqa_cli", "answer a question about an image"),
    "poem": ("model.apps.poem_cli", "write or check a poem under format constraints"),
    "match": ("model.apps.match_cli", "score whether an image and a text match"),
    "imagine": ("model.apps.imagine_cli", "generate an image from text"),
    "vq": ("model.apps.vq_cli", "train the vector-quantised image autoencoder (m6 vq train)"),
    "finetune": ("model.apps.finetune_cli", "fine-tune a pretrained checkpoint for an application"),
    "eval": ("model.apps.eval_cli", "evaluate an application and print its metric"),
}

# name -> a light module whose ``prestart(argv)`` runs before the command's module is imported:
# ``m6 corpus --workers N`` starts its worker processes there, so that their start-up overlaps
# the import of Beam and the building of the pipeline (``pipelines/warm_workers.py``)
PRESTART: dict[str, str] = {
    "corpus": "pipelines.warm_workers",
}

# group -> its subcommands, each name -> (module, one-line help). Both crawls share the fetch
# configuration (corpus/fetch/config.py) and the egress policy (corpus/fetch/egress.py).
GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "crawl": {
        "urls": ("pipelines.crawl_urls", "crawl URL lists and sitemaps politely into WARC files"),
        "cc": ("pipelines.crawl_cc", "select Common Crawl records from its index, fetch by range"),
    },
}


def _usage(prog: str = "m6", table: dict[str, tuple[str, str]] = COMMANDS) -> str:
    width = max(len(n) for n in table)
    what = "command" if prog == "m6" else "subcommand"
    head = f"usage: {prog}{' [--version]' if prog == 'm6' else ''} <{what}> [options]"
    lines = [head, "", f"{what}s:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in table.items()]
    lines += ["", f"Run '{prog} <{what}> --help' for its options."]
    return "\n".join(lines)


def missing_extra(e: ModuleNotFoundError) -> str | None:
    """The one line to print when ``e`` is an optional dependency that is not installed, else
    None (a missing module of m6 itself, or of a core dependency, is a broken install: its
    traceback is the useful report)."""
    top = (e.name or "").partition(".")[0]
    extra = EXTRAS.get(top)
    if extra is None or sys.modules.get(top) is not None:
        return None  # not optional, or installed with a part missing: the traceback says which
    return f"{top} is not installed; install m6[{extra}]: pip install 'm6[{extra}]'"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("--version", "-V"):
        from schemas.version import m6_version

        print(f"m6 {m6_version()} (Python {sys.version.split()[0]})")
        return 0
    return _dispatch("m6", COMMANDS, argv)


def _dispatch(prog: str, table: dict[str, tuple[str, str]], argv: list[str]) -> int:
    """Run the command of ``table`` that ``argv`` names, or say in one line why not."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(prog, table))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in table:
        print(f"{prog}: unknown {'command' if prog == 'm6' else 'subcommand'} {name!r}\n\n"
              f"{_usage(prog, table)}", file=sys.stderr)
        return 2
    if name in GROUPS and prog == "m6":
        return _dispatch(f"m6 {name}", GROUPS[name], rest)
    module_name = table[name][0]
    try:
        module = importlib.import_module(module_name)
        if prog == "m6" and name in PRESTART:
            importlib.import_module(PRESTART[name]).prestart(rest)
        # a command may import an extra only on the path that needs it (poem --check does not)
        return int(module.main(rest) or 0)
    except ModuleNotFoundError as e:
        line = missing_extra(e)
        if line is not None:
            print(f"{prog} {name}: {line}", file=sys.stderr)
            return 2
        if e.name and module_name.startswith(e.name):
            print(f"{prog} {name}: not available in this build ({module_name} is missing)",
                  file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
