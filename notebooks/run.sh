#!/usr/bin/env bash
# Execute the notebooks headlessly with the tslab kernel (Debian's Jupyter + nbconvert), writing the
# executed copies to out/notebooks/. Usage: npm run notebooks [-- 1_experimentation ...]
# Runs against local defaults: the built-in shapes model, no cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"   # the kernel starts `tslab`, which must be on PATH
command -v jupyter >/dev/null || { echo "jupyter not found: run ./setup-dev.sh (Debian: jupyter-notebook python3-nbconvert)" >&2; exit 1; }
if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *tslab '; then
  tslab install --python="$(command -v python3 >/dev/null && [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)"
fi
mkdir -p out/notebooks
names=("$@")
if [ ${#names[@]} -eq 0 ]; then names=($(cd notebooks && ls *.ipynb | sed 's/\.ipynb$//')); fi
for name in "${names[@]}"; do
  echo "executing notebooks/$name.ipynb" >&2
  # nbconvert writes the executed copy; a cell error fails the run (no --allow-errors)
  PYDEVD_DISABLE_FILE_VALIDATION=1 jupyter nbconvert --to notebook --execute "notebooks/$name.ipynb" \
    --output-dir out/notebooks --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=tslab \
    2> >(grep -v -e 'Debugger warning' -e 'frozen modules' -e 'Xfrozen_modules' -e 'PYDEVD_DISABLE' >&2)
done
