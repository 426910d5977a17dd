#!/usr/bin/env bash
# KeSpeech recipe, from a local copy of the release (Tasks/ASR, Audio).
#   bash recipes/kespeech/run.sh --corpus_dir /corpora/KeSpeech [--stage N] [--stop_stage M]
#   0  data dirs per part (with utt2subdialect) and data/train = train_phase1 + train_phase2
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
corpus_dir=
valid_set=dev_phase1   # validation set for training (stage 3)
score_names="test:kespeech"   # stage 5: <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train
test_sets="dev_phase1 test"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the KeSpeech folder with Tasks/ASR)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/Tasks/ASR"
  "$py" "$FIREREDASR_ROOT/local/prepare_kespeech.py" --corpus_dir "$corpus_dir" --out_dir "$data"
fi

. "$recipe_dir/../asr_stages.sh"
