"""The version of m6 that wrote an output, for ``m6 --version`` and the ``m6_version`` key of
every ``config.json`` (corpus, crawl, training run).

A config file says which settings built an output; which m6 applied them matters as much when
a later release changes a default or a stage (datatrove and torchtitan record their version in
the same place). The key is provenance, not a setting: ``schemas.config.from_dict`` drops it,
so an earlier run's ``config.json`` still loads with ``--config``.
"""

from __future__ import annotations

from importlib import metadata

VERSION_KEY = "m6_version"


def m6_version() -> str:
    """The installed distribution's version; ``unknown`` when m6 runs from a source tree that
    was never installed (then there is no metadata to read)."""
    try:
        return metadata.version("m6")
    except metadata.PackageNotFoundError:
        return "unknown"


def with_version(data: dict) -> dict:
    """``data`` with ``m6_version`` first, the way every writer of a ``config.json`` adds it."""
    return {VERSION_KEY: m6_version(), **{k: v for k, v in data.items() if k != VERSION_KEY}}
