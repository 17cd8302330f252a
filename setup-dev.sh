#!/usr/bin/env bash
# One-time set-up of a development machine (Debian/Ubuntu): the system packages (Jupyter for the
# notebooks), the npm dependencies (which bring their own Node 24 as a devDependency) and the build,
# and the tslab Jupyter kernel.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
JUPYTER_DEBS="jupyter-notebook python3-nbconvert jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel"
if command -v apt-get >/dev/null; then
  missing=$(for p in $JUPYTER_DEBS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  fi
else
  echo "no apt-get: install Jupyter (notebook, nbconvert) yourself to run the notebooks" >&2
fi
command -v npm >/dev/null || { echo "npm is required (Node.js 20 or newer to run npm; the project brings Node 24)" >&2; exit 1; }
npm ci --no-audit --no-fund
# The tslab kernel for Jupyter (its `tslab` binary is node_modules/.bin/tslab: npm scripts put it on PATH).
if command -v jupyter >/dev/null; then
  PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)
  PATH="$PWD/node_modules/.bin:$PATH" tslab install --python="$PY" >/dev/null
fi
