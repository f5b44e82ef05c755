#!/usr/bin/env bash
# Install what `make demo` needs (install.sh demo) or what `make test` needs on top (install.sh test).
# Idempotent: a step whose result is present says so and installs nothing.
#
# One line per step with its duration; every command's own output goes to $LOG, which a failing step names.
# The engine (gfootball 2.10.2, C++) is built from source once, in a build environment of its own, in the
# background while the Python packages install; its wheel is cached in $GFSUB_CACHE/wheels.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHAT=${1:-demo}
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
CACHE=${GFSUB_CACHE:-$HOME/.cache/gfsub}
WHEELS=$CACHE/wheels
LOGS=$CACHE/logs
LOG=$LOGS/install.log
ENGINE_LOG=$LOGS/install-engine.log
GFOOTBALL=2.10.2
TORCH=2.13.0

# What building the engine needs (google-research/football's compile notes), bubblewrap (each file agent's
# sandbox), and what only the tests use.
DEMO_APT=(libsdl2-dev libsdl2-image-dev libsdl2-ttf-dev libsdl2-gfx-dev libboost-thread-dev libboost-system-dev
          libboost-filesystem-dev libboost-python-dev libgl1-mesa-dev libegl-dev cmake build-essential python3-dev
          bubblewrap)
TEST_APT=(chromium iproute2)  # report.html's browser test; the Ray test's network namespace

case "$WHAT" in demo|test) ;; *) echo "usage: install.sh demo|test" >&2; exit 2;; esac
if [ -e "$CACHE" ] && [ ! -d "$CACHE" ]; then
  echo "install: GFSUB_CACHE=$CACHE is not a folder — point GFSUB_CACHE at a folder, or unset it" >&2; exit 2
fi
mkdir -p "$LOGS" "$WHEELS"
: >"$LOG"

# step NAME COMMAND...: run COMMAND with its output in $LOG; print NAME and how long it took, or stop.
step() {
  local name=$1 start=$SECONDS; shift
  printf '%-64s' "$name"
  if "$@" >>"$LOG" 2>&1; then
    printf '%5d s\n' $((SECONDS - start))
  else
    printf ' FAILED after %d s\n' $((SECONDS - start))
    echo "install: step '$name' failed — its output is at the end of $LOG" >&2
    exit 1
  fi
}
present() { printf '%-64s%s\n' "$1" "present"; }

py() { "$VENV/bin/python" "$@"; }
pip_() { py -m pip --disable-pip-version-check --no-input -q "$@"; }
# has NAME [VERSION]: NAME's distribution is installed (at VERSION, when given)
has() { py -c 'import sys; from importlib.metadata import version
name, want = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
try: got = version(name)
except Exception: sys.exit(1)
sys.exit(0 if want is None or got == want else 1)' "$@" 2>/dev/null; }
# imports MODULE...: every module imports in the venv (what a step installs is there, not merely recorded)
imports() { py -c 'import importlib, sys
for name in sys.argv[1:]: importlib.import_module(name)' "$@" >/dev/null 2>&1; }

missing_apt() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

engine_wheel() { ls "$WHEELS"/gfootball-"$GFOOTBALL"-*.whl 2>/dev/null | head -1; }

# The engine's wheel, built by pip in a build environment of its own (setuptools < 70 and psutil, which its
# build script runs with `python3` from PATH). Runs in the background: its duration goes to a file.
build_engine() {
  local start=$SECONDS build=$CACHE/engine-build-env
  {
    rm -rf "$build"
    "$PYTHON" -m venv "$build"
    "$build/bin/python" -m pip --disable-pip-version-check -q install "setuptools<70" "wheel<0.46" psutil
    PATH="$build/bin:$PATH" "$build/bin/python" -m pip --disable-pip-version-check -q wheel --no-build-isolation \
      --no-deps -w "$WHEELS" "gfootball==$GFOOTBALL"
    rm -rf "$build"
  } >"$ENGINE_LOG" 2>&1
  echo $((SECONDS - start)) >"$ENGINE_LOG.seconds"
}

wait_engine() {
  if ! wait "$1"; then
    cat "$ENGINE_LOG" >>"$LOG"
    return 1
  fi
}

echo "installing what 'make $WHAT' needs (details: $LOG)"

# --- system packages ------------------------------------------------------------------------------------------
wanted=("${DEMO_APT[@]}")
[ "$WHAT" = test ] && wanted+=("${TEST_APT[@]}")
mapfile -t need < <(missing_apt "${wanted[@]}")
if [ ${#need[@]} -eq 0 ]; then present "system packages (apt)"; else
  step "system packages (apt: ${#need[@]} missing)" apt_install "${need[@]}"; fi

# --- the engine, in the background ----------------------------------------------------------------------------
engine_pid=""
if [ -z "$(engine_wheel)" ]; then
  build_engine &
  engine_pid=$!
fi

# --- the venv and gfsub's own packages ------------------------------------------------------------------------
if [ -x "$VENV/bin/python" ]; then present "venv ($VENV)"; else step "venv ($VENV)" "$PYTHON" -m venv "$VENV"; fi
# pyproject.toml's hash, kept in the venv: the packages are present when it is the one they were installed from
stamp="$VENV/.gfsub-packages"
project=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" = "$project" ] && has gfsub && imports tensorflow kaggle_environments; then
  present "Python packages (TensorFlow, kaggle-environments, ...)"
else
  rm -f "$stamp"
  step "Python packages (TensorFlow, kaggle-environments, ...)" \
    pip_ install "setuptools>=64,<70" "wheel<0.46" -e "$ROOT"
fi

# --- target runtimes (while the engine may still build) -------------------------------------------------------
if [ "$WHAT" = test ]; then
  step "target runtimes, all (venvs, once)" py -m gfsub runtime create
else
  step "target runtimes of a default build (venvs, once)" py -m gfsub runtime create --default-targets
fi

# --- the engine, installed ------------------------------------------------------------------------------------
if [ -n "$engine_pid" ]; then
  printf '%-64s' "engine: gfootball $GFOOTBALL built from source (once)"
  if wait_engine "$engine_pid"; then printf '%5d s\n' "$(cat "$ENGINE_LOG.seconds")"; else
    printf ' FAILED\n'; echo "install: the engine build failed — its output is at the end of $LOG" >&2; exit 1; fi
else
  present "engine: gfootball $GFOOTBALL wheel ($WHEELS)"
fi
if [ "$WHAT" = test ]; then
  extras=engine,test,ray label="engine and test tools (pytest, ruff, playwright, Ray, mkdocs)"
  tools=(pytest xdist filelock ruff playwright ray psutil mkdocs material onnx onnxruntime)
else
  extras=engine label="engine and its packages (gym, pygame, opencv)"
  tools=()
fi
# present only when the engine and every tool of this step import: a stamp alone never stands for them
if [ "$(cat "$stamp" 2>/dev/null)" = "$project" ] && has gfootball "$GFOOTBALL" \
    && imports gfootball.env "${tools[@]}"; then
  present "$label"
else
  step "$label" pip_ install --no-build-isolation --find-links "$WHEELS" -e "$ROOT[$extras]"
fi
# torch's CPU build, for the .pt2 tests (gfsub[torch]): pinned, because an unpinned torch from PyPI is the
# multi-GB CUDA build. torch wants setuptools >= 77 and the step above installs < 70 (gym's build): present only
# when pip check agrees too, so that a re-run of that step is followed by this one.
if [ "$WHAT" = test ]; then
  if imports torch onnxscript && pip_ check >/dev/null 2>&1; then present "torch $TORCH (CPU build) and onnxscript, for .pt2"
  else step "torch $TORCH (CPU build) and onnxscript, for .pt2" pip_ install "torch==$TORCH" "onnxscript>=0.2"; fi
fi
step "pip check (every requirement installed)" pip_ check
echo "$project" >"$stamp"
