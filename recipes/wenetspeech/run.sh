#!/usr/bin/env bash
# WenetSpeech recipe (DESIGN.md section 11), from a local copy of the release
# (WenetSpeech.json + audio/ opus files; the corpus is distributed after registration).
#   bash recipes/wenetspeech/run.sh --corpus_dir /corpora/WenetSpeech [--train_subset M]
#   0  segments-based data dirs data/{train_<s|m|l>,dev,test_net,test_meeting} (streamed JSON)
#   1  fbank features (on the fly by default: L is too big to store) and CMVN over a subset
#   2  dict.txt and English BPE
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
train_subset=L             # S | M | L
data=$recipe_dir/data
feat_mode=on_the_fly
cmvn_num_utts=50000
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
score_names="test_net:ws_net test_meeting:ws_meeting"
. "$FIREREDASR_ROOT/utils/parse_options.sh"

train_set=train_${train_subset,,}
test_sets="dev test_net test_meeting"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the folder with WenetSpeech.json)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/WenetSpeech.json"
  "$py" "$FIREREDASR_ROOT/local/prepare_wenetspeech.py" --corpus_dir "$corpus_dir" \
    --out_dir "$data" --train_subset "$train_subset"
fi

. "$recipe_dir/../asr_stages.sh"
