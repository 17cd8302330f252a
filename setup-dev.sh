#!/usr/bin/env bash
# One-time set-up of a development machine (Debian/Ubuntu): the system packages the tests use, then
# the npm dependencies (which bring their own Node 24 as a devDependency) and the build.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if command -v apt-get >/dev/null; then
  # Nothing beyond Node/npm is needed yet; this is where Debian packages (Jupyter for the notebooks) go.
  :
fi
command -v npm >/dev/null || { echo "npm is required (Node.js 20 or newer to run npm; the project brings Node 24)" >&2; exit 1; }
npm ci --no-audit --no-fund
