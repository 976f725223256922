"""Input confinement of image listings: a listing line may only name files under allowed roots.

A listing is data, and data is hostile (issue 15.3): a line whose ``image`` is ``/etc/passwd``,
``../../home/u/.ssh/id_rsa``, ``file:///proc/self/environ`` or ``simplecache::http://...`` must
not make the corpus read that file or fetch that URL. The rule, as in a web server's document root
or tar's ``--no-absolute-names``:

* a relative path is resolved against the listing file's folder and must stay inside it, after
  ``..`` is collapsed and, for local files, after every symlink is followed (``os.path.realpath``:
  a link that points out of the folder counts as outside);
* an absolute path or a URL with a known fsspec protocol (``file://``, ``s3://``, ``memory://``)
  is read only when it lies under a root the user allows: the listing's own folder, or one of
  ``images.listing_roots`` (local folders or fsspec URL prefixes such as ``s3://bucket/shop``);
* a chained protocol (``simplecache::s3://...``) is refused unless a root is spelled with the same
  chain, an unknown protocol always; http(s) URLs are not files: they go to the download stage,
  whose egress policy decides.

Refusals are reasons of the ``read_listing`` stage (``outside_root``, ``chained_protocol``,
``unknown_protocol``, ``bad_path``); nothing of a refused file is read. ``open_confined`` checks
again when the file is opened (the tree may have changed since the listing was read), opens the
resolved path with ``O_NOFOLLOW`` and refuses anything but a regular file (``not_a_file``: a FIFO
would block the worker, a device never ends).
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass

import fsspec

LOCAL_PROTOCOLS = frozenset({"file", "local"})
HTTP_PROTOCOLS = frozenset({"http", "https"})


class Refused(Exception):
    """A listing's image reference that may not be read; ``reason`` is the rejected row's."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def split_protocol(ref: str) -> tuple[str | None, str]:
    """``("s3", "bucket/key")`` of ``s3://bucket/key``; ``(None, ref)`` for a plain path. A
    chained URL keeps its chain in the protocol (``simplecache::s3``)."""
    if "://" not in ref:
        return None, ref
    protocol, path = ref.split("://", 1)
    return protocol.lower(), path


def is_http(ref: str) -> bool:
    return split_protocol(ref)[0] in HTTP_PROTOCOLS


@dataclass(frozen=True)
class Root:
    """One allowed root: ``protocol`` (None for the local file system) and a normalised path
    (for local roots, the real path, symlinks followed)."""

    protocol: str | None
    path: str

    @classmethod
    def of(cls, spec: str) -> Root:
        protocol, path = split_protocol(spec)
        if protocol in LOCAL_PROTOCOLS or protocol is None:
            return cls(None, os.path.realpath(path or "."))
        return cls(protocol, posixpath.normpath("/" + path.strip("/")))

    def holds(self, protocol: str | None, path: str) -> bool:
        """Whether the normalised ``path`` (of ``protocol``) is this root or under it."""
        if protocol != self.protocol:
            return False
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


def roots_for(listing_path: str, extra: tuple[str, ...] = ()) -> tuple[Root, ...]:
    """The roots a listing may read from: its own folder and the configured ones."""
    protocol, path = split_protocol(listing_path)
    folder = posixpath.dirname(path)
    own = folder if protocol is None else f"{protocol}://{folder}"
    return (Root.of(own), *(Root.of(r) for r in extra))


def _normalised(protocol: str | None, path: str) -> tuple[str | None, str]:
    """``(protocol, path)`` as roots hold them: local paths real (symlinks followed)."""
    if protocol is None or protocol in LOCAL_PROTOCOLS:
        try:
            return None, os.path.realpath(path)
        except (ValueError, OSError) as e:  # an embedded NUL byte, a loop of links
            raise Refused("bad_path", f"{type(e).__name__}: {e}") from None
    return protocol, posixpath.normpath("/" + path.strip("/"))


def resolve(ref: str, listing_path: str) -> str:
    """A listing's image reference made absolute against the listing file's folder (not yet
    checked: see ``confine``)."""
    if "://" in ref or ref.startswith("/"):
        return ref
    protocol, path = split_protocol(listing_path)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))
    return joined if protocol is None else f"{protocol}://{joined.lstrip('/')}"


def check(target: str, roots: tuple[Root, ...]) -> None:
    """Raise ``Refused`` unless the resolved ``target`` lies under one of ``roots``."""
    if "\x00" in target:
        raise Refused("bad_path", "NUL byte in the path")
    protocol, path = split_protocol(target)
    if protocol is not None and protocol not in LOCAL_PROTOCOLS and "::" in path:
        # fsspec reads "::" anywhere in a URL as a chain ("a::simplecache::..."); local files
        # are opened by path, where "::" is only part of a name.
        raise Refused("chained_protocol", "'::' in a remote path chains fsspec protocols")
    if protocol is not None and "::" in protocol:
        if not any(r.protocol == protocol for r in roots):
            raise Refused("chained_protocol",
                          f"chained fsspec protocol {protocol!r} is not under an allowed root "
                          "(images.listing_roots)")
    elif protocol is not None and protocol not in LOCAL_PROTOCOLS \
            and protocol not in fsspec.available_protocols():
        raise Refused("unknown_protocol", f"unknown protocol {protocol[:40]!r}")
    where = _normalised(protocol, path)
    if not any(r.holds(*where) for r in roots):
        raise Refused("outside_root",
                      "the image path is outside the listing's folder and every allowed root "
                      "(images.listing_roots)")


def confine(ref: str, listing_path: str, extra_roots: tuple[str, ...] = ()) -> str:
    """The path to read for ``ref`` of the listing at ``listing_path``; raises ``Refused``."""
    target = resolve(ref, listing_path)
    check(target, roots_for(listing_path, extra_roots))
    return target


def read_confined(target: str, roots: tuple[Root, ...], max_bytes: int) -> bytes:
    """The bytes of ``target``; raises ``Refused`` (``file_too_large`` past ``max_bytes``),
    ``FileNotFoundError`` or ``OSError``."""
    check(target, roots)
    protocol, path = split_protocol(target)
    if protocol is not None and protocol not in LOCAL_PROTOCOLS:
        fs, p = fsspec.core.url_to_fs(target)
        size = fs.size(p)
        if size is not None and size > max_bytes:
            raise Refused("file_too_large", f"{size} bytes > {max_bytes}")
        with fs.open(p, "rb") as f:
            return _capped(f.read(max_bytes + 1), max_bytes)
    real = os.path.realpath(path)
    # O_NOFOLLOW: the real path has no link left, so a link put there since is refused;
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below anyway).
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("not_a_file", "not a regular file")
        if st.st_size > max_bytes:
            raise Refused("file_too_large", f"{st.st_size} bytes > {max_bytes}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return _capped(f.read(max_bytes + 1), max_bytes)
    finally:
        os.close(fd)


def _capped(data: bytes, max_bytes: int) -> bytes:
    # The size from the listing of a remote store, or of a file that grew, may be stale.
    if len(data) > max_bytes:
        raise Refused("file_too_large", f"more than {max_bytes} bytes")
    return data
