#!/usr/bin/env bash
# Install m6 for Beam workers: every step of the worker image (Dockerfile), in one script so that
# CI can run the same steps where Docker is missing (.ci/run, in a fresh virtualenv seeded with
# the Beam image's own pinned packages).
#
#   scripts/install_worker.sh [--prefix /usr/local] [--system-packages] [--kenlm-from DIR]
#
# --prefix           the Python installation to install into: PREFIX/bin/python (the Beam SDK
#                    image's /usr/local, or a virtualenv); default /usr/local
# --system-packages  apt-get install the native build dependencies first (root; the image does)
# --kenlm-from DIR   copy lmplz and build_binary from DIR instead of compiling them (CI reuses
#                    the ones `make kenlm` built; the image compiles them once)
#
# Steps: (1) native packages; (2) m6 and its core dependencies at the exact versions of
# constraints.txt, never torch (the `model` extra is left out: corpus workers do not train);
# (3) kenlm's lmplz and build_binary (scripts/build_kenlm.sh); (4) a check that m6, the kenlm
# query module, fasttext and the tools load, so a broken image fails its build, not a job.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=/usr/local
SYSTEM=0
KENLM_FROM=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --system-packages) SYSTEM=1; shift ;;
    --kenlm-from) KENLM_FROM=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install_worker: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$PREFIX/bin/python" ]] || { echo "install_worker: no Python at $PREFIX/bin/python (pass --prefix)" >&2; exit 1; }
PREFIX=$(cd "$PREFIX" && pwd)  # absolute: the check below runs from /
PY="$PREFIX/bin/python"
[[ -f constraints.txt ]] || { echo "install_worker: constraints.txt missing (make constraints)" >&2; exit 1; }

if [[ $SYSTEM -eq 1 ]]; then
  # kenlm's build (Boost, Eigen, compression libraries) and the C++ toolchain for the sdists
  # without wheels (kenlm's query module)
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    build-essential cmake libboost-program-options-dev libboost-system-dev \
    libboost-thread-dev libboost-test-dev libeigen3-dev zlib1g-dev libbz2-dev liblzma-dev
  rm -rf /var/lib/apt/lists/*
fi

echo "install_worker: m6 and its dependencies (constraints.txt) into $PREFIX"
# not editable: the image keeps a copy, not a link to the build context
"$PY" -m pip install -q -c constraints.txt .

if [[ -n "$KENLM_FROM" ]]; then
  install -m 755 "$KENLM_FROM/lmplz" "$KENLM_FROM/build_binary" "$PREFIX/bin/"
else
  scripts/build_kenlm.sh --venv "$PREFIX" --jobs "$(nproc)"
fi

# from / so that the installed package is imported, not a checkout in the working directory
(cd / && "$PY" - <<'PY'
import importlib.metadata as md

import apache_beam
import fasttext  # noqa: F401
import kenlm  # noqa: F401

import pipelines.corpus_pipeline  # noqa: F401  the whole corpus pipeline imports
from m6.cli import main  # noqa: F401

import pipelines

print(f"install_worker: m6 {md.version('m6')} ({pipelines.__path__[0]}) on Beam "
      f"{apache_beam.__version__}; kenlm and fasttext load")
PY
)
# both tools exit 1 after printing their usage: look at the text, not the status
[[ "$("$PREFIX/bin/lmplz" --help 2>&1 || true)" == *"Builds unpruned language models"* ]]
[[ "$("$PREFIX/bin/build_binary" --help 2>&1 || true)" == *"Usage:"* ]]
echo "install_worker: lmplz and build_binary run"
