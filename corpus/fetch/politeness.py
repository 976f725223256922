"""Per-host politeness: at most one request start per ``delay`` seconds to each host.

Threads of one worker's download pool share a ``HostGate``. ``wait(host)`` reserves the next free
slot of that host under a lock and sleeps outside it, so requests to other hosts are never held up
by a slow host, and requests to one host are spaced by at least ``delay`` however many threads ask
at once (the slot is reserved before sleeping, so two threads never get the same slot). This is
the per-host delay that crawler etiquette asks for (Heritrix's ``minDelayMs``, Scrapy's
``DOWNLOAD_DELAY`` per slot); it holds within a worker, and across workers only as
``delay * workers`` (``m6 crawl`` therefore gives each host to one worker).

The delay counts from the end of the previous request as well as from its start (``done``), as
Heritrix does, so a slow connect or answer never lets two requests arrive closer than the delay.
A crawler sets a host's own delay once its robots.txt ``Crawl-delay`` is known (``set_delay``:
the next slot moves to the last start plus the new delay) and carries a host's last request over
from an earlier round or run (``not_before``).
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
        self._last: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._done: dict[str, float] = {}

    def reserve(self, host: str) -> float:
        """Reserve the next slot of ``host``; returns the seconds to wait before using it."""
        host = host.lower()
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self._delay.get(host, self.delay_s)
            self._last[host] = slot
            return slot - now

    def set_delay(self, host: str, delay_s: float) -> None:
        """Space ``host``'s requests by ``delay_s`` from now on, counted from the later of its
        last request's start and end."""
        host = host.lower()
        with self._lock:
            self._delay[host] = delay_s
            last = max(self._last.get(host, -1e18), self._done.get(host, -1e18))
            if last > -1e18:
                self._next[host] = max(self._next.get(host, 0.0), last + delay_s)

    def done(self, host: str) -> None:
        """A request to ``host`` has finished: its next one waits the delay from now, so the
        spacing the server sees is never below the delay however long connecting took."""
        host = host.lower()
        with self._lock:
            now = self._clock()
            self._done[host] = now
            delay = self._delay.get(host, self.delay_s)
            self._next[host] = max(self._next.get(host, now), now + delay)

    def not_before(self, host: str, seconds_from_now: float) -> None:
        """No request to ``host`` earlier than ``seconds_from_now`` (an earlier round's last
        request plus the delay)."""
        host = host.lower()
        with self._lock:
            now = self._clock()
            self._next[host] = max(self._next.get(host, now), now + seconds_from_now)

    def wait(self, host: str, deadline: float | None = None) -> bool:
        """Block until ``host`` may be contacted. False if that is past ``deadline`` (monotonic);
        the slot then stays reserved, so the next request to the host still waits its turn."""
        wait = self.reserve(host)
        if deadline is not None and self._clock() + wait > deadline:
            return False
        if wait > 0:
            self._sleep(wait)
        return True
