"""Turn what a user passes as ``INPUT`` (files, folders, globs; local or fsspec URLs) into the plan
of a corpus run: which files are crawls, which are plain-text dumps, which are image listings.

Kinds are told by name, then by content:

- ``*.warc``, ``*.warc.gz``, ``*.arc``, ``*.arc.gz`` are crawls (WARC/ARC);
- ``*.warc.wet.gz`` (and ``*.wet``, ``*.wet.gz``) are Common Crawl WET files: plain text already
  extracted from pages, read as a text source without HTML extraction (``corpus.parse.wet``);
- ``*.jsonl``, ``*.jsonl.gz``, ``*.json.gz`` are JSON lines: an image listing when its first valid
  line has an ``image``, ``image_url`` or ``image_path`` key (the e-commerce listing format),
  otherwise a plain-text dump (encyclopedia, community QA, forum);
- anything else is reported as skipped, with its name, so nothing is ignored silently.

The plan also carries the total input size: the driver derives the number of output shard buckets
from it, so the shard layout is fixed before the pipeline runs and is the same on every runner.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import fsspec

from corpus.parse.jsonl import loads_limited
from corpus.parse.wet import is_wet

CRAWL_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz")
LISTING_KEYS = ("image", "image_url", "image_path")
_SNIFF_LINES = 51  # lines read to tell a listing from a dump
_SNIFF_CHARS = 1 << 20  # of each of them at most (a longer line is read in pieces, none parses)


@dataclass(frozen=True)
class InputPlan:
    crawl: tuple[str, ...] = ()
    dumps: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    total_bytes: int = 0
    sizes: dict[str, int] = field(default_factory=dict, compare=False)
    wet: tuple[str, ...] = ()  # Common Crawl WET files (extracted text)

    @property
    def files(self) -> tuple[str, ...]:
        return self.crawl + self.wet + self.dumps + self.listings

    def describe(self) -> str:
        wet = f"{len(self.wet)} WET files, " if self.wet else ""
        text = (f"{len(self.crawl)} crawl files, {wet}{len(self.dumps)} text dumps, "
                f"{len(self.listings)} image listings ({self.total_bytes / 1e6:.1f} MB)")
        if self.skipped:
            kinds = Counter(_suffix(p) for p in self.skipped)
            text += (f"; skipped {len(self.skipped)} other files ("
                     + ", ".join(f"{n} {ext}" for ext, n in sorted(kinds.items())) + ")")
        return text


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else "(no extension)"


def _expand(pattern: str) -> list[tuple[str, int]]:
    """Files (with sizes) that ``pattern`` names: a file, a folder (recursive) or a glob."""
    fs, path = fsspec.core.url_to_fs(pattern)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

    def url(p: str) -> str:
        return p if protocol in ("file", "local") else f"{protocol}://{p}"

    def is_file(p: str, info: dict) -> bool:
        # fsspec's local filesystem reports a symlink as type "other": follow it
        return info.get("type") == "file" or (bool(info.get("islink")) and fs.isfile(p))

    if any(ch in path for ch in "*?["):
        found = fs.glob(path, detail=True)
        entries = [(p, info) for p, info in found.items() if is_file(p, info)]
    elif fs.isdir(path):
        found = fs.find(path, detail=True)
        entries = [(p, info) for p, info in found.items() if is_file(p, info)]
    elif fs.exists(path):
        entries = [(path, fs.info(path))]
    else:
        raise FileNotFoundError(f"input {pattern!r} does not exist (a file, folder or glob)")
    return [(url(p), int(info.get("size") or 0)) for p, info in sorted(entries)]


def _first_json_keys(path: str) -> set[str]:
    """Keys of the first JSON object among the first lines of ``path`` (gzip or not).

    Never raises on content: a line over the depth or size limit (``corpus.parse.jsonl``) is
    passed over like any bad line, and a file that cannot be read (a corrupt gzip) gives no keys,
    so it is planned as a dump and its reader turns the damage into a rejected row naming it."""
    try:
        with fsspec.open(path, "rt", compression="infer", encoding="utf-8",
                         errors="replace") as f:
            for _ in range(_SNIFF_LINES):
                line = f.readline(_SNIFF_CHARS)
                if not line:
                    break
                try:
                    obj = loads_limited(line, max_chars=_SNIFF_CHARS - 1)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    return set(obj)
    except (OSError, EOFError, ValueError):  # gzip and zlib damage
        return set()
    return set()


def plan_inputs(patterns: list[str] | tuple[str, ...]) -> InputPlan:
    """Classify every file named by ``patterns``. Raises if a pattern names nothing."""
    crawl, wet, dumps, listings, skipped = [], [], [], [], []
    sizes: dict[str, int] = {}
    for pattern in patterns:
        files = _expand(pattern)
        if not files:
            raise FileNotFoundError(f"input {pattern!r} matched no files")
        for path, size in files:
            if path in sizes:
                continue
            name = path.rsplit("/", 1)[-1].lower()
            if name.startswith(".") or name in ("provenance.md", "readme.md"):
                continue
            sizes[path] = size
            if is_wet(name):
                wet.append(path)
            elif name.endswith(CRAWL_SUFFIXES):
                crawl.append(path)
            elif name.endswith(JSONL_SUFFIXES):
                keys = _first_json_keys(path)
                (listings if keys & set(LISTING_KEYS) else dumps).append(path)
            else:
                skipped.append(path)
                sizes.pop(path)
    return InputPlan(tuple(crawl), tuple(dumps), tuple(listings), tuple(skipped),
                     sum(sizes.values()), sizes, wet=tuple(wet))
