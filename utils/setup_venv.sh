#!/usr/bin/env bash
# Create .venv (when missing) and install the toolkit into it, editable, with test extras
# (and the released inference code into .venv/released, for the speed benches).
# Re-running is cheap: the install is redone only when setup.py changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($python --version)" >&2
  "$python" -m venv .venv
fi
stamp=.venv/.fireredasr-setup
want=$(sha256sum setup.py | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
# The released inference code, as the speed baseline of bench/decode_aed.py. It has this
# package's name, so it lives in its own folder (bench/released_e2e.py runs it there).
released=fireredasr==0.0.2
if [ ! -f .venv/released/.installed ] || [ "$(cat .venv/released/.installed)" != "$released" ]; then
  rm -rf .venv/released
  .venv/bin/python -m pip install --quiet --no-deps --target .venv/released "$released"
  echo "$released" > .venv/released/.installed
fi
