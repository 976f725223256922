"""Which copy of a duplicate group survives: one deterministic total order over documents.

The survivor of a group (same URL, same normalised text, or one near-duplicate component) is the
member with the smallest ``node_key``, which orders documents by

1. tier: documents of an earlier corpus (``--dedup-against``) before documents of this run, so a
   document already published is never replaced by a new copy of itself;
2. ``source_priority``: sources listed in the config first, in their order (an encyclopedia copy
   can be preferred over a forum repost); unlisted sources after them, all equal;
3. ``prefer``, larger first: 0 for text (no preference); the pixel count for images, so the
   largest copy of an image is the one kept;
4. the **position** in the input, earlier first: the rank of the document's input file in the
   run's plan (``InputPlan.files``: the order ``INPUT`` names them, sorted within a folder or
   glob) and its offset in that file. So the copy kept is the first one in the input, as a
   reader going through the crawl in order would keep it, and a large input cut into batches of
   consecutive files (``pipelines/batch_run.py``) keeps the same copies as one pipeline over all
   of it: an earlier batch's copy is the earlier copy (issue 17.1). A document whose file is not
   in the plan (a hand-made one, a row of an earlier corpus) has the last position. Documents
   with the same id (the same URL twice) are one node, at the first position of any of them
   (``first_placed``, applied once the node's documents are together: ``vertices.rank_group``,
   ``local.keyed``);
5. the record id (32 hex digits of SHA-1 over source and URL or file and offset): a stable,
   arbitrary tie-break that depends on no runner, shard or arrival order.

The key is a string, so comparing keys is comparing strings and a key can be a Beam key and a graph
node as it is. Equal keys (the same id twice) are broken by text, URL, input file and offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from schemas import RejectedRecord

EXISTING = "0"  # tier of a document from an earlier corpus
NEW = "1"  # tier of a document of this run
_PREFER_DIGITS = 12
_PREFER_MAX = 10**_PREFER_DIGITS - 1
_FILE_DIGITS = 6  # hex: 16.7 million input files
_OFFSET_DIGITS = 10  # hex: offsets up to 1 TB
POSITION_DIGITS = _FILE_DIGITS + _OFFSET_DIGITS
LAST = "f" * POSITION_DIGITS  # the position of a document that is not in the plan's files
_AT = 1 + 3 + _PREFER_DIGITS  # tier digit, source rank, preference: where the position starts
_PREFIX = _AT + POSITION_DIGITS


def file_ranks(files: Iterable[str]) -> dict[str, int]:
    """Input file -> its rank in the run's plan (``InputPlan.files``, in that order)."""
    ranks: dict[str, int] = {}
    for f in files:
        ranks.setdefault(f, len(ranks))
    return ranks


def position(ranks: Mapping[str, int], input_file: str | None, offset: int | None) -> str:
    """The position part of a key: file rank and offset, fixed-width hex (strings compare as the
    numbers do); ``LAST`` for a file not in ``ranks``."""
    rank = ranks.get(input_file) if input_file is not None else None
    if rank is None:
        return LAST
    rank = min(rank, 16**_FILE_DIGITS - 2)
    off = min(max(offset if offset is not None else 0, 0), 16**_OFFSET_DIGITS - 1)
    return f"{rank:0{_FILE_DIGITS}x}{off:0{_OFFSET_DIGITS}x}"


def placed(key: str, pos: str) -> str:
    """``key`` at position ``pos`` (keys of an earlier corpus keep theirs: their tier already
    puts them first)."""
    if is_existing(key) or pos == key[_AT:_PREFIX]:
        return key
    return key[:_AT] + pos + key[_PREFIX:]


def first_placed(key: str, ranks: Mapping[str, int],
                 places: Iterable[tuple[str | None, int | None]]) -> str:
    """``key`` placed at the first position of a node's documents, given as (input file,
    offset): applied once the documents with one id are together."""
    return placed(key, min(position(ranks, f, off) for f, off in places))


def node_key(doc_id: str, source: str, *, existing: bool = False,
             source_priority: Sequence[str] = (), prefer: int = 0) -> str:
    """The survivor-order key of a document (smallest wins), at the ``LAST`` position: a single
    document's position does not name its node (``first_placed``)."""
    try:
        rank = list(source_priority).index(source)
    except ValueError:
        rank = len(source_priority)
    rank = min(rank, 999)
    pref = _PREFER_MAX - min(max(int(prefer), 0), _PREFER_MAX)
    return f"{EXISTING if existing else NEW}{rank:03d}{pref:0{_PREFER_DIGITS}d}{LAST}{doc_id}"


def id_of(key: str) -> str:
    """The record id inside a ``node_key``."""
    return key[_PREFIX:]


def is_existing(key: str) -> bool:
    """Whether a ``node_key`` names a document of an earlier corpus."""
    return key[:1] == EXISTING


def member_order(member: tuple[str, Any]) -> tuple:
    """Sort key of a (node_key, record) group member: the key, then text, URL, file, offset."""
    key, record = member
    return (key, getattr(record, "text", "") or "", getattr(record, "url", "") or "",
            getattr(record, "input_file", "") or "", getattr(record, "offset", -1) or -1)


STAGE = "dedup"  # the ``stage`` of every rejected row this package makes


def split_group(members: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], list[tuple[str, Any]]]:
    """(survivor, the others in survivor order) of a group of (node_key, record) members.

    Members with equal keys are ordered by their text, URL, input file and offset, so the choice
    never depends on the order a runner delivered them in."""
    ordered = sorted(members, key=member_order)
    if not ordered:
        raise ValueError("split_group needs at least one member")
    return ordered[0], ordered[1:]


def reject(record: Any, reason: str, duplicate_of: str, score: float | None = None) -> Any:
    """The rejected row of a duplicate: ``record.reject`` (Document, ImagePair), or a row of
    kind ``image_text`` built from the fields of an ``ImageTextRecord``."""
    if hasattr(record, "reject"):
        return record.reject(STAGE, reason, score=score, duplicate_of=duplicate_of)
    return RejectedRecord(
        id=record.id, source=record.source, kind="image_text", stage=STAGE, reason=reason,
        score=score, duplicate_of=duplicate_of, url=record.url, image_url=record.image_url,
        title=record.title, text=record.text, input_file=record.input_file,
    )


def rejections(losers: Iterable[tuple[str, Any]], survivor_key: str, reason: str,
               score: float | None = None) -> Iterator[Any]:
    """Rejected rows for the losers of a group that belong to this run.

    Losers from an earlier corpus (``--dedup-against``) are not part of this run's output, so
    they produce nothing."""
    for key, record in losers:
        if not is_existing(key):
            yield reject(record, reason, id_of(survivor_key), score)
