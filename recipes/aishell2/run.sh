#!/usr/bin/env bash
# AISHELL-2 recipe (DESIGN.md section 11). The corpus is licensed: point the recipe at a local copy.
#   bash recipes/aishell2/run.sh --train_dir /corpora/AISHELL-2/iOS/data \
#        --dev_test_dir /corpora/AISHELL-DEV-TEST-SET [--stage N] [--stop_stage M]
#   0  data dirs data/train, data/{dev,test}_{ios,android,mic}
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
train_dir=                 # AISHELL-2/iOS/data (wav.scp, trans.txt, wav/)
dev_test_dir=              # AISHELL-DEV-TEST-SET (iOS|Android|Mic/dev|test)
channels="iOS Android Mic"
data=$recipe_dir/data
feat_mode=ark
cmvn_num_utts=0
bpe_vocab_size=1000
char_min_count=1
speed_perturb=false
exp=$recipe_dir/exp
ngpu=0
valid_set=dev_ios           # validation set for training
train_overrides=           # Hydra overrides for stage 3, e.g. "model=aed_s optim.lr=1e-3"
average_num=10             # stage 4: checkpoints averaged
average_mode=last          # last | best (by validation loss)
master_port=29500          # torch.distributed rendezvous port for stage 3
aed_model_dir=             # stage 5: AED folder to decode with (default: $exp/aed/model)
model_name=                # row name in the results table (default: the folder's name)
decode_overrides=          # extra fireredasr-decode flags, e.g. "--beam_size 5"
score_names="test_ios:aishell2_ios test_android:aishell2_android test_mic:aishell2_mic"
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
