"""Egress policy: which addresses a request to a URL taken from data may reach (issue 15.2).

Every URL m6 fetches because some data named it (an ``<img>`` tag, a listing, a URL list, a
sitemap, a link, a redirect, an index row) is hostile: a page that writes
``<img src="http://127.0.0.1:8080/admin">`` must not make the corpus job talk to the machine's own
services (server-side request forgery, OWASP's SSRF prevention cheat sheet). The rules:

* only ``http`` and ``https`` (anything else is ``blocked_scheme``);
* the host is resolved ONCE, every resolved address is checked, and the socket connects to a
  checked address itself (``connect``), never to the name again, so a name that answers a public
  address to a check and ``127.0.0.1`` to the connect (DNS rebinding) gains nothing;
* an address is refused (``blocked_address``) unless it is globally routable: loopback, private
  (RFC 1918, ULA), link-local, multicast, reserved, unspecified, carrier-grade NAT, documentation
  and benchmarking ranges are all out (``ipaddress``'s ``is_global`` plus the explicit flags);
  IPv4-mapped (``::ffff:127.0.0.1``), 6to4 and Teredo IPv6 addresses are judged by the IPv4
  address they carry;
* numeric hosts are parsed the way ``inet_aton`` and browsers read them, so every spelling of
  an address is the address: decimal ``2130706433``, octal ``0177.0.0.1``, hex ``0x7f.1``, short
  forms ``127.1``, bracketed IPv6 ``[::1]``; they never reach a resolver;
* ``allow`` (``--allow-address ADDRESS_OR_CIDR``, repeatable) opens exactly those addresses or
  networks, for intranets and local tests. Nothing else is opened by it: a server allowed at
  ``127.0.0.1`` that redirects to ``127.0.0.2`` is still refused, because redirects are fetched
  through the same check.

The user's own configuration (``--base-url``, ``--index``, input globs) is not data and is read
through fsspec, outside this policy.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (family, sockaddr) pairs, as socket.getaddrinfo's 1st and 5th fields
Resolved = list[tuple[int, tuple]]
Resolver = Callable[[str, int], Resolved]

ALLOWED_SCHEMES = ("http", "https")
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)


class EgressBlocked(Exception):
    """A request the policy refuses; ``status`` is ``blocked_address`` or ``blocked_scheme``."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def parse_allow(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                 ...]:
    """``--allow-address`` values as networks; a bad one is a ``ValueError`` naming it."""
    nets = []
    for entry in entries:
        text = entry.strip().strip("[]")
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"--allow-address {entry!r} is not an IP address or CIDR network "
                             "(e.g. 10.0.0.0/8, 127.0.0.1, ::1)") from None
    return tuple(nets)


def numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host spells, in any of the forms ``inet_aton`` accepts (decimal,
    octal, hex, 1 to 4 parts) or as an IPv6 literal with or without brackets; None for a name.
    Raises ``ValueError`` for a numeric host no parser accepts (``999.1.1.1``)."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if ":" in h:
        return ipaddress.IPv6Address(h.split("%", 1)[0])
    if not _NUMERIC_V4.match(h):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(h.rstrip(".")))
    except OSError:
        raise ValueError(f"not a valid numeric address: {host[:80]!r}") from None


def embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip.packed[:12] == bytes(12) and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(ip.packed[12:])
    return None


def _system_resolver(host: str, port: int) -> Resolved:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


@dataclass(frozen=True)
class EgressPolicy:
    """The check every outgoing request makes. Picklable (the default resolver is a module
    function); ``resolver`` may be replaced in tests to play a rebinding DNS server."""

    allow: tuple[str, ...] = ()
    resolver: Resolver = _system_resolver

    def __post_init__(self) -> None:
        object.__setattr__(self, "_nets", parse_allow(self.allow))

    # -- addresses ----------------------------------------------------------------------------

    def allowed(self, ip: IPAddress) -> bool:
        """True if ``ip`` may be connected to: in an allowed network, or globally routable."""
        inner = embedded_v4(ip)
        candidates = [ip] if inner is None else [ip, inner]
        if any(c in net for c in candidates for net in self._nets if c.version == net.version):
            return True
        # an address that carries an IPv4 address is judged by that address (the wrapper ranges
        # themselves are "reserved" to ipaddress, which would refuse ::ffff:8.8.8.8)
        return self._public(ip if inner is None else inner)

    @staticmethod
    def _public(ip: IPAddress) -> bool:
        return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local
                                     or ip.is_multicast or ip.is_reserved or ip.is_unspecified)

    def check_scheme(self, scheme: str) -> None:
        if scheme.lower() not in ALLOWED_SCHEMES:
            raise EgressBlocked("blocked_scheme", f"scheme {scheme[:20]!r} is not http(s)")

    def resolve(self, host: str, port: int) -> Resolved:
        """The checked addresses to connect to for ``host:port``, resolved once. Raises
        ``EgressBlocked`` if none may be reached, ``socket.gaierror`` if the name does not
        resolve. Addresses the policy refuses are dropped, and if any is refused the name is
        refused as a whole: a name that mixes public and internal answers is an attack or a
        misconfiguration, and trying the public ones first would still leak a timing signal."""
        literal = numeric_host(host)
        if literal is not None:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            sockaddr = (str(literal), port, 0, 0) if literal.version == 6 else (str(literal), port)
            resolved: Resolved = [(family, sockaddr)]
        else:
            resolved = list(self.resolver(host, port))
        if not resolved:
            raise socket.gaierror(f"{host} has no address")
        refused = []
        for _family, sockaddr in resolved:
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if not self.allowed(ip):
                refused.append(str(ip))
        if refused:
            raise EgressBlocked("blocked_address",
                                f"{host[:80]} -> {', '.join(sorted(set(refused)))} is not a public "
                                "address (open it with --allow-address)")
        return resolved

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP socket connected to a checked address of ``host:port``. The socket connects to
        the address that was checked, so no second resolution can change it."""
        last: OSError | None = None
        for family, sockaddr in self.resolve(host, port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as e:
                sock.close()
                last = e
        assert last is not None
        raise last
