#!/usr/bin/env bash
# AISHELL-2 recipe. The corpus is licensed: point the recipe at a local copy.
#   bash recipes/aishell2/run.sh --train_dir /corpora/AISHELL-2/iOS/data \
#        --dev_test_dir /corpora/AISHELL-DEV-TEST-SET [--stage N] [--stop_stage M]
#   0  data dirs data/train, data/{dev,test}_{ios,android,mic}
#   1  fbank features and global CMVN          2  dict.txt and English BPE
#   3  train the AED (DeepSpeed; --ngpu N GPUs or --nj N CPU processes)   4  average + export
#   5  decode the test sets with an AED folder and score   6  check the base LLM folder
#   7  train the Encoder-Adapter-LLM with LoRA + export   8  decode/score with an LLM folder
#   9  results table
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
. "$recipe_dir/../asr_defaults.sh"   # the options every recipe shares
# Options of this recipe (and changed defaults):
train_dir=                 # AISHELL-2/iOS/data (wav.scp, trans.txt, wav/)
dev_test_dir=              # AISHELL-DEV-TEST-SET (iOS|Android|Mic/dev|test)
channels="iOS Android Mic"
valid_set=dev_ios   # validation set for training (stage 3)
score_names="test_ios:aishell2_ios test_android:aishell2_android test_mic:aishell2_mic"   # stage 5: <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train
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
test_sets=$existing

. "$recipe_dir/../asr_stages.sh"
