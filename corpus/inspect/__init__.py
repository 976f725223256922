"""``m6 inspect``: look inside corpus shards (schema, counts, rows, column statistics,
validation, filters, images) without loading them. The command is ``corpus.inspect.cli``."""

from corpus.inspect.cli import main

__all__ = ["main"]
