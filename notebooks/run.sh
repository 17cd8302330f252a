#!/usr/bin/env bash
# Execute the notebooks headlessly with the tslab kernel (Debian's Jupyter + nbconvert), writing the
# executed copies to out/notebooks/. Usage: npm run notebooks [-- 1_experimentation ...]
# Runs against local defaults: the built-in shapes model, no cluster, and (unless AWS_S3_ENDPOINT is set)
# a local S3 server (s3rver) as the data connection, with the buckets models and pipeline-artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"   # the kernel starts `tslab`, which must be on PATH
command -v jupyter >/dev/null || { echo "jupyter not found: run ./setup-dev.sh (Debian: jupyter-notebook python3-nbconvert)" >&2; exit 1; }
if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *tslab '; then
  tslab install --python="$(command -v python3 >/dev/null && [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)"
fi
mkdir -p out/notebooks
if [ -z "${AWS_S3_ENDPOINT:-}" ]; then
  env_file="$(mktemp -u "${TMPDIR:-/tmp}/notebooks-s3-env.XXXXXX")"
  node notebooks/local-s3.mjs "$env_file" &
  s3_pid=$!
  trap 'kill "$s3_pid" 2>/dev/null; wait "$s3_pid" 2>/dev/null; rm -f "$env_file"' EXIT
  for _ in $(seq 100); do [ -f "$env_file" ] && break; kill -0 "$s3_pid" 2>/dev/null || { echo "the local S3 server did not start" >&2; exit 1; }; sleep 0.1; done
  # shellcheck disable=SC1090
  source "$env_file"
  echo "local S3 server (s3rver) at $AWS_S3_ENDPOINT as the data connection" >&2
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then names=($(cd notebooks && ls *.ipynb | sed 's/\.ipynb$//')); fi
for name in "${names[@]}"; do
  echo "executing notebooks/$name.ipynb" >&2
  # nbconvert writes the executed copy; a cell error fails the run (no --allow-errors)
  PYDEVD_DISABLE_FILE_VALIDATION=1 jupyter nbconvert --to notebook --execute "notebooks/$name.ipynb" \
    --output-dir out/notebooks --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=tslab \
    2> >(grep -v -e 'Debugger warning' -e 'frozen modules' -e 'Xfrozen_modules' -e 'PYDEVD_DISABLE' >&2)
done
