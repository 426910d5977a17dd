#!/usr/bin/env bash
# WenetSpeech recipe, from a local copy of the release
# (WenetSpeech.json + audio/ opus files; the corpus is distributed after registration).
#   bash recipes/wenetspeech/run.sh --corpus_dir /corpora/WenetSpeech [--train_subset M]
#   0  segments-based data dirs data/{train_<s|m|l>,dev,test_net,test_meeting} (streamed JSON)
#   1  fbank features (on the fly by default: L is too big to store) and CMVN over a subset
#   2  dict.txt and English BPE
#   3  train the AED (DeepSpeed; --ngpu N GPUs or --nj N CPU processes)   4  average + export
#   5  decode the test sets with an AED folder and score   6  check the base LLM folder
#   7  train the Encoder-Adapter-LLM with LoRA + export   8  decode/score with an LLM folder
#   9  results table
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
. "$recipe_dir/../asr_defaults.sh"   # the options every recipe shares
# Options of this recipe (and changed defaults):
corpus_dir=
train_subset=L             # S | M | L
feat_mode=on_the_fly
cmvn_num_utts=50000
check_files=true           # false: stage 0 does not check that every opus file exists (slow storage)
valid_set=dev   # validation set for training (stage 3)
score_names="test_net:ws_net test_meeting:ws_meeting"   # stage 5: <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train_${train_subset,,}
test_sets="dev test_net test_meeting"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the folder with WenetSpeech.json)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/WenetSpeech.json"
  no_check=()
  [ "$check_files" = true ] || no_check=(--no_check_files)
  "$py" "$FIREREDASR_ROOT/local/prepare_wenetspeech.py" --corpus_dir "$corpus_dir" \
    --out_dir "$data" --train_subset "$train_subset" "${no_check[@]}"
fi

. "$recipe_dir/../asr_stages.sh"
