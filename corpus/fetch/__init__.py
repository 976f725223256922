"""Download image URLs that are not in the crawl: per-worker thread pool, connect/read/total
timeouts, retries with backoff, a byte cap, a user agent, per-host politeness, and a status per
URL (``client.py``); ``FetchImages`` (``stage.py``) runs it as a corpus stage on batches."""

from corpus.fetch.client import Fetcher, FetchResult
from corpus.fetch.config import FetchConfig
from corpus.fetch.politeness import HostGate

__all__ = ["FetchConfig", "FetchResult", "Fetcher", "HostGate"]
