"""``m6 crawl``: get the crawl itself (issue 14). A command group; each subcommand is a module
with ``main(argv) -> int``, imported only when it runs.

    m6 crawl cc ...    Common Crawl records selected from its URL index, fetched by range
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "cc": ("pipelines.crawl_cc", "Common Crawl: select from its URL index, fetch by range"),
}


def _usage() -> str:
    lines = ["usage: m6 crawl <command> [options]", "", "commands:"]
    lines += [f"  {name:<6}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"m6 crawl: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)
