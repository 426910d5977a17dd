# Sourced by the utils/ wrappers and the recipes. Sets $FIREREDASR_ROOT, $py (the toolkit's
# Python: the repository's .venv unless PYTHON is set) and log() for stage messages. log()
# also times the stages: when a message names a new stage, the previous stage's wall time is
# logged (and appended to $stage_times_file when a recipe sets it); stage_time_final logs the
# last one.
FIREREDASR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-$FIREREDASR_ROOT/.venv/bin/python}
[ -x "$py" ] || py=python3
_stage_now=
_stage_t0=$SECONDS
stage_time_final() {
  [ -n "$_stage_now" ] || return 0
  local took=$((SECONDS - _stage_t0))
  echo "$(date '+%Y-%m-%d %H:%M:%S') [$(basename "$0") stage $_stage_now] done in ${took} s" >&2
  if [ -n "${stage_times_file:-}" ]; then
    mkdir -p "$(dirname "$stage_times_file")"
    printf '%s\t%s\t%s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$_stage_now" "$took" >> "$stage_times_file"
  fi
  _stage_now=
}
log() {
  if [ "$1" != "$_stage_now" ]; then
    stage_time_final
    _stage_now=$1
    _stage_t0=$SECONDS
  fi
  echo "$(date '+%Y-%m-%d %H:%M:%S') [$(basename "$0") stage ${1}] ${*:2}" >&2
}
# A corpus recipe's last step: record its stage 0's wall time, then run the shared stages
# (recipes/asr.sh) with the given flags.
asr_stages() {
  stage_times_file=$exp/stage_times.tsv
  stage_time_final
  "$FIREREDASR_ROOT/recipes/asr.sh" "$@"
}
