"""robots.txt for the crawler (RFC 9309, issue 14.3): rules, ``Crawl-delay``, and what each
answer to ``/robots.txt`` means.

Parsing and matching are Protego's (Scrapy's parser): the group of the most specific user agent
(or ``*``), Allow and Disallow by the longest match with Allow winning a tie, ``*`` and ``$``
wildcards, percent-encoding compared decoded, ``Crawl-delay``. The answer decides (RFC 9309
section 2.3.1):

* 2xx: the rules apply (at most ``MAX_ROBOTS_BYTES`` are parsed, the RFC's 500 KiB minimum);
* 4xx (404, 401, 403, ...): no robots.txt, everything allowed ("unavailable" in the RFC);
* 5xx, a timeout, a connection or DNS error, a body over the byte cap: the host is
  *unreachable*; the RFC says assume complete disallow, so none of its URLs is fetched now and
  they are logged as ``robots_unavailable``, which a rerun retries;
* a refusal of the egress policy: the host's URLs are ``blocked_address`` / ``blocked_scheme``.

Redirects of ``/robots.txt`` are followed (up to the fetch config's limit, each hop through the
egress policy), as the RFC asks. The rules of a host are cached in ``DIR/robots/`` for
``robots_max_age_s`` (the RFC's 24 hours by default) so a rerun and later rounds do not ask again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from protego import Protego

ROBOTS_DIR = "robots"
MAX_ROBOTS_BYTES = 512 * 1024
_AVAILABLE = "available"  # rules apply
_ALLOW_ALL = "allow_all"  # 4xx: no rules
_UNREACHABLE = "unreachable"  # 5xx, timeout: nothing now, retried by a rerun


@dataclass(frozen=True)
class RobotsVerdict:
    """The robots.txt state of one origin: ``kind`` is ``available``, ``allow_all``,
    ``unreachable`` or a blocking status of the egress policy; ``text`` the rules."""

    origin: str
    kind: str
    text: str = ""
    detail: str = ""
    fetched_at: float = 0.0

    @classmethod
    def from_fetch(cls, origin: str, status: str, http_status: int | None, body: bytes | None,
                   detail: str | None = None) -> RobotsVerdict:
        now = time.time()
        if status == "ok":
            text = (body or b"")[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return cls(origin, _AVAILABLE, text, "", now)
        if status.startswith("http_") and http_status is not None and 400 <= http_status < 500:
            return cls(origin, _ALLOW_ALL, "", f"robots.txt answered {http_status}", now)
        if status in ("blocked_address", "blocked_scheme"):
            return cls(origin, status, "", detail or "", now)
        return cls(origin, _UNREACHABLE, "", f"robots.txt: {status} {detail or ''}".strip(), now)

    @property
    def cacheable(self) -> bool:
        return self.kind in (_AVAILABLE, _ALLOW_ALL)

    @property
    def blocking_status(self) -> str | None:
        """The log status of every URL of the origin when no URL may be fetched, else None."""
        if self.kind == _UNREACHABLE:
            return "robots_unavailable"
        if self.kind in ("blocked_address", "blocked_scheme"):
            return self.kind
        return None

    def rules(self) -> Protego | None:
        return Protego.parse(self.text) if self.kind == _AVAILABLE else None


class Robots:
    """The robots.txt rules of one origin for one user agent."""

    def __init__(self, verdict: RobotsVerdict, user_agent: str):
        self.verdict = verdict
        self.user_agent = user_agent
        self._rules = verdict.rules()

    def allowed(self, url: str) -> bool:
        if self.verdict.blocking_status is not None:
            return False
        return self._rules is None or bool(self._rules.can_fetch(url, self.user_agent))

    def crawl_delay(self) -> float:
        if self._rules is None:
            return 0.0
        delay = self._rules.crawl_delay(self.user_agent)
        return float(delay) if delay else 0.0


def _cache_path(folder: Path, origin: str) -> Path:
    return folder / ROBOTS_DIR / (hashlib.sha1(origin.encode()).hexdigest() + ".json")


def load_cached(folder: Path, origin: str, max_age_s: float) -> RobotsVerdict | None:
    """The cached verdict of ``origin`` if there is one younger than ``max_age_s``."""
    path = _cache_path(folder, origin)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("origin") != origin or time.time() - float(data.get("fetched_at", 0)) > max_age_s:
        return None
    return RobotsVerdict(origin, data["kind"], data.get("text", ""), data.get("detail", ""),
                         float(data["fetched_at"]))


def save_cached(folder: Path, verdict: RobotsVerdict) -> None:
    """Cache a verdict that may be reused (rules or a 4xx), atomically."""
    if not verdict.cacheable:
        return
    path = _cache_path(folder, verdict.origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps({"origin": verdict.origin, "kind": verdict.kind,
                               "text": verdict.text, "detail": verdict.detail,
                               "fetched_at": verdict.fetched_at}, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, path)
