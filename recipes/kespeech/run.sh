#!/usr/bin/env bash
# KeSpeech recipe (DESIGN.md section 11), from a local copy of the release (Tasks/ASR, Audio).
#   bash recipes/kespeech/run.sh --corpus_dir /corpora/KeSpeech [--stage N] [--stop_stage M]
#   0  data dirs per part (with utt2subdialect) and data/train = train_phase1 + train_phase2
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
corpus_dir=
data=$recipe_dir/data
feat_mode=ark
cmvn_num_utts=0
bpe_vocab_size=1000
char_min_count=1
speed_perturb=false
exp=$recipe_dir/exp
ngpu=0
valid_set=dev_phase1           # validation set for training
train_overrides=           # Hydra overrides for stage 3, e.g. "model=aed_s optim.lr=1e-3"
average_num=10             # stage 4: checkpoints averaged
average_mode=last          # last | best (by validation loss)
master_port=29500          # torch.distributed rendezvous port for stage 3
aed_model_dir=             # stage 5: AED folder to decode with (default: $exp/aed/model)
model_name=                # row name in the results table (default: the folder's name)
decode_overrides=          # extra fireredasr-decode flags, e.g. "--beam_size 5"
score_names="test:kespeech"
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train
test_sets="dev_phase1 test"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the KeSpeech folder with Tasks/ASR)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/Tasks/ASR"
  "$py" "$FIREREDASR_ROOT/local/prepare_kespeech.py" --corpus_dir "$corpus_dir" --out_dir "$data"
fi

. "$recipe_dir/../asr_stages.sh"
