#!/usr/bin/env bash
# Install everything gfsub needs into .venv/ (idempotent: a second run installs nothing).
#
# Steps: Debian packages for building the gfootball engine -> .venv -> build tools ->
# gfootball 2.10.2 (built once from source, wheel cached outside the repo) -> gym 0.23.1 ->
# kaggle-environments 1.33.2 without its 1.9 GB dependency set -> gfsub itself (editable).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
CACHE="${GFSUB_CACHE:-$HOME/.cache/gfsub}"
WHEELS="$CACHE/wheels"
GFOOTBALL_VERSION=2.10.2

APT_PACKAGES=(
  libsdl2-dev libsdl2-image-dev libsdl2-ttf-dev libsdl2-gfx-dev
  libboost-thread-dev libboost-system-dev libboost-filesystem-dev libboost-python-dev
  libgl1-mesa-dev libegl-dev cmake build-essential python3-dev
  iproute2  # the Ray test's network namespace
  chromium  # report.html's browser test (driven by playwright, offline)
)

log() { printf '[install] %s\n' "$*"; }

install_apt() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && { log "apt packages: present"; return; }
  log "apt packages missing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

pip_() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }

has() { "$VENV/bin/python" - "$@" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
name, want = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
try:
    got = version(name)
except PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if want is None or got == want else 1)
PY
}

install_venv() {
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  has setuptools && "$VENV/bin/python" -c 'import setuptools,sys; sys.exit(int(setuptools.__version__.split(".")[0]) >= 70)' \
    && has wheel && has psutil || pip_ install "setuptools<70" "wheel<0.46" psutil
}

install_gfootball() {
  if has gfootball "$GFOOTBALL_VERSION" && has gym 0.23.1; then log "gfootball: present"; return; fi
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/gfootball-"$GFOOTBALL_VERSION"-*.whl >/dev/null 2>&1; then
    log "building gfootball $GFOOTBALL_VERSION from source (about 5 minutes, once; cached in $WHEELS)"
    # The engine's build script runs `python3` from PATH (it needs psutil): use the venv's.
    PATH="$VENV/bin:$PATH" pip_ wheel --no-build-isolation --no-deps -w "$WHEELS" "gfootball==$GFOOTBALL_VERSION"
  fi
  pip_ install --no-build-isolation --find-links "$WHEELS" "gfootball==$GFOOTBALL_VERSION" six "gym==0.23.1"
}

install_kaggle_environments() {
  if has kaggle-environments 1.33.2; then log "kaggle-environments: present"; return; fi
  pip_ install --no-deps "kaggle-environments==1.33.2"
  pip_ install jsonschema requests
}

install_gfsub() {
  # The package, its declared dependencies (tensorflow-cpu, jinja2, numpy, h5py, typer, rich, openskill) and the
  # extras the tests use (pytest, ruff; Ray for league --ray).
  pip_ install --no-build-isolation -e "$ROOT[dev,ray]"
}

install_apt
install_venv
install_gfootball
install_kaggle_environments
install_gfsub
log "done: $VENV"
