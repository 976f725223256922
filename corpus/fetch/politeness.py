"""Per-host politeness: at most one request start per ``delay`` seconds to each host.

Threads of one worker's download pool share a ``HostGate``. ``wait(host)`` reserves the next free
slot of that host under a lock and sleeps outside it, so requests to other hosts are never held up
by a slow host, and requests to one host are spaced by at least ``delay`` however many threads ask
at once (the slot is reserved before sleeping, so two threads never get the same slot). This is
the per-host delay that crawler etiquette asks for (Heritrix's ``minDelayMs``, Scrapy's
``DOWNLOAD_DELAY`` per slot); it holds within a worker, and across workers only as
``delay * workers``.
"""

from __future__ import annotations

import threading
import time


class HostGate:
    def __init__(self, delay_s: float, clock=time.monotonic, sleep=time.sleep):
        if delay_s < 0:
            raise ValueError(f"per-host delay must be >= 0 seconds, got {delay_s}")
        self.delay_s = delay_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str) -> float:
        """Reserve the next slot of ``host``; returns the seconds to wait before using it."""
        host = host.lower()
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.delay_s
            return slot - now

    def wait(self, host: str, deadline: float | None = None) -> bool:
        """Block until ``host`` may be contacted. False if that is past ``deadline`` (monotonic);
        the slot then stays reserved, so the next request to the host still waits its turn."""
        wait = self.reserve(host)
        if deadline is not None and self._clock() + wait > deadline:
            return False
        if wait > 0:
            self._sleep(wait)
        return True
