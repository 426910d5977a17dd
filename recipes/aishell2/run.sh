#!/usr/bin/env bash
# AISHELL-2 recipe. The corpus is licensed: point the recipe at a local copy.
#   bash recipes/aishell2/run.sh --train_dir /corpora/AISHELL-2/iOS/data \
#        --dev_test_dir /corpora/AISHELL-DEV-TEST-SET [--stage N] [--stop_stage M]
#   0  data dirs data/train, data/{dev,test}_{ios,android,mic}
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=2                # the data stages; --stop_stage 12 runs every stage
data=$recipe_dir/data
exp=$recipe_dir/exp
train_dir=                 # AISHELL-2/iOS/data (wav.scp, trans.txt, wav/)
dev_test_dir=              # AISHELL-DEV-TEST-SET (iOS|Android|Mic/dev|test)
channels="iOS Android Mic"
valid_set=dev_ios          # validation set of training
score_names="test_ios:aishell2_ios test_android:aishell2_android test_mic:aishell2_mic"
. "$FIREREDASR_ROOT/utils/parse_options.sh"

test_sets=""
for ch in $channels; do test_sets+="dev_${ch,,} test_${ch,,} "; done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -z "$train_dir" ] || [ -z "$dev_test_dir" ]; then
    echo "$0: give --train_dir (AISHELL-2/iOS/data) and --dev_test_dir (AISHELL-DEV-TEST-SET)" >&2
    exit 1
  fi
  log 0 "data dirs from $train_dir and $dev_test_dir"
  # shellcheck disable=SC2086
  "$py" "$FIREREDASR_ROOT/local/prepare_aishell2.py" --train_dir "$train_dir" \
    --dev_test_dir "$dev_test_dir" --channels $channels --out_dir "$data"
fi
# Only the channels whose dev/test sets were prepared.
existing=""
for s in $test_sets; do [ -d "$data/$s" ] && existing+="$s "; done

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" \
  --train_set train --valid_set "$valid_set" --test_sets "$existing" \
  --score_names "$score_names" "${forwarded_options[@]}"
