# Sourced by the utils/ wrappers and the recipes. Sets $FIREREDASR_ROOT, $py (the toolkit's
# Python: the repository's .venv unless PYTHON is set) and log() for stage messages.
FIREREDASR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-$FIREREDASR_ROOT/.venv/bin/python}
[ -x "$py" ] || py=python3
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [$(basename "$0") stage ${1}] ${*:2}" >&2; }
