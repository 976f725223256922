#!/usr/bin/env bash
# Build kenlm's `lmplz` (estimates an ARPA n-gram model) and `build_binary` (turns it into the
# binary the `kenlm` Python module loads) from the kenlm source distribution, into <venv>/bin.
#
#   scripts/build_kenlm.sh [--venv .venv] [--sdist kenlm-X.tar.gz] [--jobs 2]
#
# pip only installs kenlm's query module; the estimation tools must be compiled with cmake
# (kenlm's README, "Compiling"). The sdist is the one of the installed `kenlm` version, fetched
# with `pip download` (pip's cache answers when it has it) unless --sdist names a local copy.
# Idempotent: does nothing when both tools are already in <venv>/bin and run.
# Build folder: third_party/build/kenlm (ignored by git); about 40 s on 2 cores.
set -euo pipefail

VENV=.venv
SDIST=
JOBS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --sdist) SDIST=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build_kenlm: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

BIN="$VENV/bin"
APT_DEPS="build-essential cmake libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev libeigen3-dev zlib1g-dev libbz2-dev liblzma-dev"

# Both tools exit 1 after printing their usage, so look at the text, not the status.
works() { [[ -x "$BIN/$1" ]] && [[ "$("$BIN/$1" --help 2>&1 || true)" == *"$2"* ]]; }
if works lmplz "Builds unpruned language models" && works build_binary "Usage:"; then
  echo "kenlm: $BIN/lmplz and $BIN/build_binary already built"
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "build_kenlm: no virtual environment at $VENV (run 'make install' first, or pass --venv)" >&2
  exit 1
fi
# On a fresh Debian/Ubuntu machine, install the build dependencies when we can (root + apt-get),
# so `make corpus` and `make test` set everything up by themselves.
missing=()
if command -v dpkg-query >/dev/null; then
  for pkg in $APT_DEPS; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "kenlm: installing build dependencies with apt-get: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "build_kenlm: missing build dependencies: ${missing[*]}" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
  fi
fi
for tool in cmake make c++; do
  if ! command -v "$tool" >/dev/null; then
    echo "build_kenlm: '$tool' not found. Install the build dependencies first:" >&2
    echo "  sudo apt-get install $APT_DEPS" >&2
    exit 1
  fi
done

WORK=third_party/build/kenlm
mkdir -p "$WORK"
if [[ -z "$SDIST" ]]; then
  VERSION=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('kenlm'))" 2>/dev/null || true)
  SPEC="kenlm${VERSION:+==$VERSION}"
  echo "kenlm: fetching the $SPEC source distribution with pip"
  # --no-build-isolation: with --no-binary, isolation would compile setuptools from source too.
  if ! "$VENV/bin/python" -m pip download -q "$SPEC" --no-binary kenlm --no-deps \
      --no-build-isolation -d "$WORK/sdist"; then
    echo "build_kenlm: could not fetch the $SPEC source distribution from the package index;" >&2
    echo "download kenlm-<version>.tar.gz elsewhere and pass it with --sdist PATH" >&2
    exit 1
  fi
  SDIST=$(ls -t "$WORK"/sdist/kenlm-*.tar.gz | head -n 1)
fi
if [[ ! -f "$SDIST" ]]; then
  echo "build_kenlm: source distribution $SDIST not found" >&2
  exit 1
fi

SRC="$WORK/src"
rm -rf "$SRC" && mkdir -p "$SRC"
tar -xzf "$SDIST" -C "$SRC" --strip-components=1
echo "kenlm: configuring $(basename "$SDIST") with cmake (log: $WORK/cmake.log)"
if ! cmake -S "$SRC" -B "$WORK/cmake" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1; then
  tail -n 25 "$WORK/cmake.log" >&2
  echo >&2
  echo "build_kenlm: cmake failed (full log: $WORK/cmake.log). kenlm needs Boost (program_options," >&2
  echo "system, thread, test), Eigen, zlib, bzip2 and lzma; on Debian/Ubuntu install them with" >&2
  echo "  sudo apt-get install $APT_DEPS" >&2
  exit 1
fi
echo "kenlm: compiling lmplz and build_binary with $JOBS jobs (log: $WORK/make.log)"
if ! make -C "$WORK/cmake" -j"$JOBS" lmplz build_binary >"$WORK/make.log" 2>&1; then
  tail -n 25 "$WORK/make.log" >&2
  echo "build_kenlm: compilation failed (full log: $WORK/make.log); missing headers usually mean" >&2
  echo "missing packages: sudo apt-get install $APT_DEPS" >&2
  exit 1
fi
install -m 755 "$WORK/cmake/bin/lmplz" "$WORK/cmake/bin/build_binary" "$BIN/"
echo "kenlm: installed $BIN/lmplz and $BIN/build_binary"
