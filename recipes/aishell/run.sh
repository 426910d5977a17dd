#!/usr/bin/env bash
# AISHELL-1 recipe (OpenSLR 33). Usage: bash recipes/aishell/run.sh [--stage N] [--stop_stage M]
#   0  download (md5-checked, resumable) and Kaldi data dirs data/{train,dev,test}
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=2                # the data stages; --stop_stage 12 runs every stage
data=$recipe_dir/data
exp=$recipe_dir/exp
aishell_dir=               # an unpacked data_aishell folder; empty: download into $download_dir
download_dir=$recipe_dir/downloads
data_url=https://www.openslr.org/resources/33
valid_set=dev              # validation set of training
score_names="test:aishell1"   # decoded sets, <set>:<results-table column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -z "$aishell_dir" ]; then
    log 0 "downloading AISHELL-1 into $download_dir"
    "$py" "$FIREREDASR_ROOT/local/download_aishell.py" --dest "$download_dir" --base_url "$data_url"
    aishell_dir=$download_dir/data_aishell
  fi
  log 0 "data dirs from $aishell_dir"
  "$py" "$FIREREDASR_ROOT/local/prepare_aishell.py" "$aishell_dir" "$data"
fi

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" \
  --train_set train --valid_set "$valid_set" --test_sets "dev test" --score_names "$score_names" \
  "${forwarded_options[@]}"
