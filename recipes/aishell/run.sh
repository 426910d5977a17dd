#!/usr/bin/env bash
# AISHELL-1 recipe (DESIGN.md section 11). Usage: bash recipes/aishell/run.sh [--stage N] [--stop_stage M]
#   0  download (md5-checked, resumable) and Kaldi data dirs data/{train,dev,test}
#   1  fbank features and global CMVN          2  dict.txt and English BPE
#   3  train the AED (DeepSpeed; --ngpu N GPUs or --nj N CPU processes)   4  average + export
#   5  decode the test sets with an AED folder and score     9  results table
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
# Paths given as options are relative to the current directory; defaults live in the recipe.

stage=0
stop_stage=2
nj=4
aishell_dir=               # an unpacked data_aishell folder; empty: download into $download_dir
download_dir=$recipe_dir/downloads
data_url=https://www.openslr.org/resources/33
data=$recipe_dir/data
feat_mode=ark              # ark: ark/scp features; on_the_fly: computed while training
cmvn_num_utts=0            # 0: CMVN over every training utterance
bpe_vocab_size=1000
char_min_count=1
speed_perturb=false
exp=$recipe_dir/exp
ngpu=0
valid_set=dev           # validation set for training
train_overrides=           # Hydra overrides for stage 3, e.g. "model=aed_s optim.lr=1e-3"
average_num=10             # stage 4: checkpoints averaged
average_mode=last          # last | best (by validation loss)
master_port=29500          # torch.distributed rendezvous port for stage 3
aed_model_dir=             # stage 5: AED folder to decode with (default: $exp/aed/model)
model_name=                # row name in the results table (default: the folder's name)
decode_overrides=          # extra fireredasr-decode flags, e.g. "--beam_size 5"
score_names="test:aishell1"
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
