#!/usr/bin/env bash
# KeSpeech recipe, from a local copy of the release (Tasks/ASR, Audio).
#   bash recipes/kespeech/run.sh --corpus_dir /corpora/KeSpeech [--stage N] [--stop_stage M]
#   0  data dirs per part (with utt2subdialect) and data/train = train_phase1 + train_phase2
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=2                # the data stages; --stop_stage 12 runs every stage
data=$recipe_dir/data
exp=$recipe_dir/exp
corpus_dir=
valid_set=dev_phase1       # validation set of training
score_names="test:kespeech"   # decoded sets, <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the KeSpeech folder with Tasks/ASR)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/Tasks/ASR"
  "$py" "$FIREREDASR_ROOT/local/prepare_kespeech.py" --corpus_dir "$corpus_dir" --out_dir "$data"
fi

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" \
  --train_set train --valid_set "$valid_set" --test_sets "dev_phase1 test" \
  --score_names "$score_names" "${forwarded_options[@]}"
