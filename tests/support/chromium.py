"""Finding, and when missing installing, the Chromium the report tests open pages in.

Test infrastructure, not part of the m6 package: the report's test must show that a real browser
loads the page ``m6 report`` writes, so the test setup installs Debian's ``chromium`` and a font
covering Chinese with apt-get when either is missing (as root, or through ``sudo -n``), and fails
with what it tried when it cannot; the tests are never skipped. ``M6_CHROMIUM`` (a path or a name
on PATH) picks another binary for these tests. The browser is driven by Playwright
(``tests/support/browser.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_PACKAGE = "chromium"
# Tried in this order. Noto CJK (56 MB download) is the better family and is what a report's
# font stack names first; WenQuanYi Zen Hei (7.5 MB) is the fallback when Noto cannot be installed.
CJK_FONT_PACKAGES = ("fonts-noto-cjk", "fonts-wqy-zenhei")
APT_TIMEOUT_S = 1800


class BrowserUnavailable(RuntimeError):
    """No Chromium to run (or no CJK font for it) and none could be installed; the message says
    what was tried and how each attempt ended."""


def find_chromium() -> str | None:
    """The Chromium binary to use: ``$M6_CHROMIUM`` when set (a path or a name on PATH; ``None``
    when it is neither), else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
    on PATH."""
    override = os.environ.get("M6_CHROMIUM")
    if override:
        return shutil.which(override)
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    return None


def cjk_fonts() -> set[str]:
    """Family names of the installed fonts that fontconfig says cover Chinese
    (``fc-list :lang=zh family``); Chromium on Linux picks its fallback fonts through fontconfig."""
    if shutil.which("fc-list") is None:
        return set()
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    # one font per line, its family names separated by unescaped commas
    return {
        name.replace("\\", "").strip()
        for line in out.splitlines()
        for name in re.split(r"(?<!\\),", line)
        if name.strip()
    }


def ensure_chromium() -> str:
    """Return the Chromium binary, first installing Debian's ``chromium`` and a CJK font with
    apt-get when either is missing (as root, or through ``sudo -n``). The font is needed even when
    Chromium is there: without one, Chinese text is drawn as boxes.

    Raises ``BrowserUnavailable`` listing what was tried when it cannot.
    """
    override = os.environ.get("M6_CHROMIUM")
    if override and not shutil.which(override):
        raise BrowserUnavailable(
            f"M6_CHROMIUM={override!r} is not an executable; fix it, or unset it to use "
            "(or install) Debian's chromium"
        )
    binary = find_chromium()
    have_font = bool(cjk_fonts())
    if binary and have_font:
        return binary

    missing = ([] if binary else [f"Chromium ({', '.join(CANDIDATES)} on PATH)"]) + (
        [] if have_font else ["a font covering Chinese (fc-list :lang=zh is empty)"]
    )
    wanted = f"missing: {'; '.join(missing)}"
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable(
            f"{wanted}; no apt-get here to install them: install Chromium and a CJK font "
            "yourself, or point M6_CHROMIUM at a Chromium"
        )
    prefix = _privileged()
    if prefix is None:
        raise BrowserUnavailable(
            f"{wanted}; not root and `sudo -n true` failed, so apt-get cannot run. Run as root: "
            f"apt-get install {CHROMIUM_PACKAGE} {CJK_FONT_PACKAGES[0]}"
        )

    tried: list[str] = []
    _apt(prefix, ["update"], tried)
    packages = [] if binary else [CHROMIUM_PACKAGE]
    for font in [None] if have_font else CJK_FONT_PACKAGES:
        wanted_now = packages + ([font] if font else [])
        if _apt(prefix, ["install", "-y", "--no-install-recommends", *wanted_now], tried):
            break
    binary = find_chromium()
    if binary and cjk_fonts():
        return binary
    raise BrowserUnavailable(f"{wanted}; tried:\n" + "\n".join(tried))


def _privileged() -> list[str] | None:
    """The command prefix that runs apt-get as root: none for root, ``sudo -n`` when that works."""
    if os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return ["sudo", "-n"]
    return None


def _apt(prefix: list[str], args: list[str], tried: list[str]) -> bool:
    """Run one apt-get command non-interactively; note the outcome in ``tried``."""
    command = [
        *prefix,
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=600",
        *args,
    ]
    shown = " ".join(["apt-get", *args])
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        tried.append(f"  {shown}: still running after {APT_TIMEOUT_S} s, stopped")
        return False
    took = time.monotonic() - start
    if done.returncode == 0:
        tried.append(f"  {shown}: ok in {took:.0f} s")
        return True
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    tried.append(f"  {shown}: exit {done.returncode} after {took:.0f} s:\n{tail}")
    return False
