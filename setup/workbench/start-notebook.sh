#!/usr/bin/env bash
# Starts JupyterLab as the OpenShift AI workbench images do: the Notebook CR passes the port, the
# base URL (/notebook/<namespace>/<name>, behind the OAuth proxy) and the auth settings in
# NOTEBOOK_ARGS, one shell-quoted option a line (--ServerApp.token='').
set -euo pipefail

# The example notebooks, into the home folder (the PVC) on first start; never over the user's edits.
mkdir -p "$HOME/diffusion-workbench"
cp -rn /opt/diffusion-workbench/notebooks/. "$HOME/diffusion-workbench/" 2>/dev/null || true

# NOTEBOOK_ARGS holds shell words with quotes in them (token=''), a line each: evaluated as the
# ODH images do, after joining the lines.
args=${NOTEBOOK_ARGS:-}
eval "set -- ${args//$'\n'/ } \"\$@\""
exec jupyter lab \
  --ServerApp.ip=0.0.0.0 \
  --ServerApp.allow_origin='*' \
  --ServerApp.open_browser=False \
  --ServerApp.root_dir="$HOME" \
  "$@"
