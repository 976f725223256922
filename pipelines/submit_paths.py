"""Make every local path of a corpus run absolute before the job is submitted, and warn when a
local path goes to workers that may not share this machine's disk (issue 17 point 3).

Beam runners other than the in-process one run the steps in processes with their own working
directory: a ``dask worker`` started in ``/srv/dask`` opened ``out/models/spam/spam.bin`` relative
to ``/srv/dask`` and failed. So ``m6 corpus`` resolves, against the directory it runs in: the
inputs, the output, ``--dedup-against`` outputs, the quality models (``quality.language.model``,
``quality.perplexity.model``, ``quality.perplexity.reference``, ``quality.spam.model``), the word
list files given as ``name=path`` in ``quality.badwords.lists/allow/weak`` and
``images.listing_roots``. URLs (``gs://``, ``s3://``, ``hdfs://``, ``http://``...) are left as
they are; ``file://`` URLs and ``~`` are made plain absolute paths. The resolved paths are what
``config.json`` records, so a run can be repeated from any directory.

An absolute path still only helps if the workers see the same disk: when the runner's workers are
not on this machine (a Dask scheduler at another host, Dataflow), each local path gets a warning.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
from collections.abc import Iterable

from corpus.config import CorpusConfig

# Runners whose workers never run on the submitting machine.
REMOTE_RUNNERS = ("DataflowRunner",)


def is_local(path: str) -> bool:
    """True for a plain path or a ``file://`` URL, False for any other URL."""
    return "://" not in path or path.startswith("file://")


def absolute(path: str) -> str:
    """``path`` made absolute against the current directory if local; URLs unchanged."""
    if not is_local(path):
        return path
    plain = path[len("file://"):] if path.startswith("file://") else path
    return os.path.abspath(os.path.expanduser(plain))


def _word_list(spec: str) -> str:
    """A ``quality.badwords`` entry: a shipped list's name stays, ``name=path`` gets its path
    resolved (corpus/quality/resources.py reads the same form)."""
    if "=" not in spec:
        return spec
    name, path = spec.split("=", 1)
    return f"{name}={absolute(path)}"


def _maybe(path: str | None) -> str | None:
    return None if path is None else absolute(path)


def absolute_config(cfg: CorpusConfig) -> CorpusConfig:
    """``cfg`` with every local path it names made absolute (see the module docstring)."""
    q = cfg.quality
    bw = q.badwords
    quality = dataclasses.replace(
        q,
        language=dataclasses.replace(q.language, model=_maybe(q.language.model)),
        perplexity=dataclasses.replace(q.perplexity, model=_maybe(q.perplexity.model),
                                       reference=_maybe(q.perplexity.reference)),
        spam=dataclasses.replace(q.spam, model=_maybe(q.spam.model)),
        badwords=dataclasses.replace(bw, lists=tuple(map(_word_list, bw.lists)),
                                     allow=tuple(map(_word_list, bw.allow)),
                                     weak=tuple(map(_word_list, bw.weak))))
    return dataclasses.replace(
        cfg, quality=quality,
        run=dataclasses.replace(cfg.run, dedup_against=tuple(map(absolute,
                                                                 cfg.run.dedup_against))),
        images=dataclasses.replace(cfg.images, listing_roots=tuple(map(
            absolute, cfg.images.listing_roots))))


def local_paths(inputs: Iterable[str], output: str, cfg: CorpusConfig) -> list[str]:
    """Every local path of a run (after ``absolute_config``), for the remote-worker warning."""
    q = cfg.quality
    lists = [s.split("=", 1)[1] for s in (*q.badwords.lists, *q.badwords.allow,
                                           *q.badwords.weak) if "=" in s]
    named = [*inputs, output, *cfg.run.dedup_against, q.language.model, q.perplexity.model,
             q.perplexity.reference, q.spam.model, *lists, *cfg.images.listing_roots]
    return [p for p in named if p is not None and is_local(p)]


def _host(address: str) -> str:
    """The host of a Dask address: ``tcp://h:8786``, ``h:8786``, ``[::1]:8786``."""
    rest = address.split("://", 1)[-1]
    if rest.startswith("["):
        return rest[1:rest.index("]")]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def is_this_machine(host: str) -> bool:
    """Whether ``host`` names this machine: a loopback address, or an address this machine's
    own name resolves to. A name that does not resolve counts as another machine."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    own = {"0.0.0.0", "::"}
    for name in (socket.gethostname(), socket.getfqdn()):
        try:
            own |= {info[4][0] for info in socket.getaddrinfo(name, None)}
        except (OSError, UnicodeError):
            continue
    return all(ipaddress.ip_address(a.split("%")[0]).is_loopback or a in own for a in addresses)


def remote_workers(runner: str, beam_args: list[str]) -> str | None:
    """Where the workers run when that is (maybe) not this machine, in words; None if local."""
    if runner in REMOTE_RUNNERS:
        return f"{runner} workers"
    if runner == "DaskRunner":
        for i, flag in enumerate(beam_args):
            if flag.startswith("--dask_client_address="):
                address = flag.split("=", 1)[1]
            elif flag == "--dask_client_address" and i + 1 < len(beam_args):
                address = beam_args[i + 1]
            else:
                continue
            if not is_this_machine(_host(address)):
                return f"the dask cluster at {address}"
    return None


def remote_path_warnings(inputs: Iterable[str], output: str, cfg: CorpusConfig, runner: str,
                         beam_args: list[str]) -> list[str]:
    """One line per local path when the workers may be on other machines (else none)."""
    where = remote_workers(runner, beam_args)
    if where is None:
        return []
    return [f"{path} is a local path, which {where} may not see: put it on storage every "
            "worker mounts at the same path, or on gs://, s3://, hdfs://"
            for path in dict.fromkeys(local_paths(inputs, output, cfg))]
