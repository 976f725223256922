"""``m6 crawl``: get the crawl itself (issue 14), as Beam pipelines whose output ``m6 corpus``
reads unchanged.

    m6 crawl urls --input urls.txt --output out/crawl      # a polite crawler for URL lists
    m6 crawl cc --index 'cc-index/*.parquet' --output ...   # Common Crawl records by range

Each subcommand lives in its own module with ``main(argv) -> int`` and is imported only when it
runs; to add one, add a line to ``SUBCOMMANDS``. Both share the fetch configuration
(``corpus/fetch/config.py``: user agent, per-host delay, timeouts, byte caps,
``--allow-address``) and the egress policy (``corpus/fetch/egress.py``).
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "urls": ("pipelines.crawl_urls", "crawl URL lists and sitemaps politely into WARC files"),
    "cc": ("pipelines.crawl_cc", "select Common Crawl records from its index, fetch by range"),
}


def _usage() -> str:
    width = max(len(n) for n in SUBCOMMANDS)
    lines = ["usage: m6 crawl <subcommand> [options]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'm6 crawl <subcommand> --help' for its options."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"m6 crawl: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name = SUBCOMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            print(f"m6 crawl {name}: not available in this build ({module_name} is missing)",
                  file=sys.stderr)
            return 2
        raise
    return int(module.main(rest) or 0)
