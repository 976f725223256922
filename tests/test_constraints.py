"""constraints.txt pins the installed dependency closure exactly (scripts/constraints.py), and the
worker image is built from the Beam SDK image of the pinned Beam version with
scripts/install_worker.sh as its only install step (issue 17 point 4)."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "constraints.py"


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", text, flags=re.M))


def test_the_generator_pins_the_installed_closure_and_nothing_else():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                         check=True).stdout
    pins = _pins(out)
    assert pins["apache-beam"] == md.version("apache-beam") == "2.77.0"
    assert pins["torch"] == md.version("torch").split("+")[0]  # no local label such as +cpu
    # dependencies of dependencies, and of extras asked for (apache-beam[dask] -> distributed)
    assert pins["distributed"] == md.version("distributed")
    assert pins["tblib"] == md.version("tblib")  # distributed's own requirement
    assert "pip" not in pins and "setuptools" not in pins
    assert _pins((ROOT / "constraints.txt").read_text()) == pins


def test_check_names_what_is_stale(tmp_path):
    text = (ROOT / "constraints.txt").read_text()
    stale = tmp_path / "constraints.txt"
    stale.write_text(re.sub(r"^pyarrow==\S+$", "pyarrow==1.0.0", text, flags=re.M)
                     .replace(f"duckdb=={md.version('duckdb')}\n", ""))
    done = subprocess.run([sys.executable, str(SCRIPT), "--check", str(stale)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert f"duckdb (installed {md.version('duckdb')}, {stale}: missing)" in done.stderr
    assert f"pyarrow (installed {md.version('pyarrow')}, {stale}: 1.0.0)" in done.stderr
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check", str(ROOT / "constraints.txt")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_the_image_is_the_pinned_beam_image_plus_the_install_script():
    dockerfile = (ROOT / "Dockerfile").read_text()
    beam = _pins((ROOT / "constraints.txt").read_text())["apache-beam"]
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert re.findall(r"^FROM (\S+)$", dockerfile, flags=re.M) == [
        f"apache/beam_python{py}_sdk:{beam}"]
    runs = re.findall(r"^RUN (.+)$", dockerfile, flags=re.M)
    assert len(runs) == 1 and runs[0].startswith("scripts/install_worker.sh ")
    assert "-c constraints.txt" in (ROOT / "scripts" / "install_worker.sh").read_text()
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
