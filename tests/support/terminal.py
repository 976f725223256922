"""Run a command on a real pseudo-terminal and return what it drew, for the tests of progress
bars: tqdm and the ``tokenizers`` trainer draw only when their stream is a terminal, so a pipe
(what ``subprocess.run`` captures) would test nothing."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import time


def run_in_terminal(argv: list[str], *, cwd: str | os.PathLike, timeout: float = 120,
                    env: dict[str, str] | None = None) -> tuple[int, str]:
    """``(exit status, everything written to stdout and stderr)`` of ``argv`` run with a
    pseudo-terminal as its stdin, stdout and stderr."""
    master, slave = pty.openpty()
    # a new pseudo-terminal is 0 columns wide, and a bar fitted to it would be empty
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                            close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        rc = proc.wait(timeout=30)
    return rc, b"".join(chunks).decode("utf-8", "replace")
