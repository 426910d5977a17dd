#!/usr/bin/env bash
# WenetSpeech recipe, from a local copy of the release
# (WenetSpeech.json + audio/ opus files; the corpus is distributed after registration).
#   bash recipes/wenetspeech/run.sh --corpus_dir /corpora/WenetSpeech [--train_subset M]
#   0  segments-based data dirs data/{train_<s|m|l>,dev,test_net,test_meeting} (streamed JSON)
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help; features
#      are computed on the fly by default (L is too big to store), CMVN over a subset
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=2                # the data stages; --stop_stage 12 runs every stage
data=$recipe_dir/data
exp=$recipe_dir/exp
corpus_dir=
train_subset=L             # S | M | L
check_files=true           # false: stage 0 does not check that every opus file exists (slow storage)
feat_mode=on_the_fly
cmvn_num_utts=50000
valid_set=dev              # validation set of training
score_names="test_net:ws_net test_meeting:ws_meeting"   # decoded sets, <set>:<column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the folder with WenetSpeech.json)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/WenetSpeech.json"
  no_check=()
  [ "$check_files" = true ] || no_check=(--no_check_files)
  "$py" "$FIREREDASR_ROOT/local/prepare_wenetspeech.py" --corpus_dir "$corpus_dir" \
    --out_dir "$data" --train_subset "$train_subset" "${no_check[@]}"
fi

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" \
  --train_set "train_${train_subset,,}" --valid_set "$valid_set" \
  --test_sets "dev test_net test_meeting" --score_names "$score_names" --feat_mode "$feat_mode" \
  --cmvn_num_utts "$cmvn_num_utts" "${forwarded_options[@]}"
