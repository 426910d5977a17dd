#!/usr/bin/env bash
# AISHELL-1 recipe (OpenSLR 33). Usage: bash recipes/aishell/run.sh [--stage N] [--stop_stage M]
#   0  download (md5-checked, resumable) and Kaldi data dirs data/{train,dev,test}
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
aishell_dir=               # an unpacked data_aishell folder; empty: download into $download_dir
download_dir=$recipe_dir/downloads
data_url=https://www.openslr.org/resources/33
valid_set=dev   # validation set for training (stage 3)
score_names="test:aishell1"   # stage 5: <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train
test_sets="dev test"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -z "$aishell_dir" ]; then
    log 0 "downloading AISHELL-1 into $download_dir"
    "$py" "$FIREREDASR_ROOT/local/download_aishell.py" --dest "$download_dir" --base_url "$data_url"
    aishell_dir=$download_dir/data_aishell
  fi
  log 0 "data dirs from $aishell_dir"
  "$py" "$FIREREDASR_ROOT/local/prepare_aishell.py" "$aishell_dir" "$data"
fi

. "$recipe_dir/../asr_stages.sh"
