#!/usr/bin/env bash
# LibriSpeech recipe (English read speech, OpenSLR 12), scored in WER.
#   bash recipes/librispeech/run.sh [--librispeech_dir /corpora/LibriSpeech] [--stage N] [--stop_stage M]
#   0  download the subsets (md5-checked, resumable) unless --librispeech_dir is given, and
#      Kaldi data dirs data/{train_clean_100,...,dev_clean,dev_other,test_clean,test_other};
#      with several training subsets they are combined into data/train
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help; the
#      dictionary is English BPE pieces only, and the scores are WER
# Fine-tuning a released FireRedASR model instead of training from scratch: its vocabulary
# must be kept, so copy its dict.txt, and its train_bpe1000.model as bpe.model, into data/lang
# before stage 2 (which then skips) and pass --train_overrides "model=aed_l model.init_from=<folder>".
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=2                # the data stages; --stop_stage 12 runs every stage
data=$recipe_dir/data
exp=$recipe_dir/exp
librispeech_dir=           # an unpacked LibriSpeech folder; empty: download into $download_dir
download_dir=$recipe_dir/downloads
data_url=https://www.openslr.org/resources/12
subsets=                   # all subsets at once, e.g. "train-clean-100 dev-clean test-clean":
                           # train-* ones are trained on, the others decoded and scored
train_subsets="train-clean-100"      # any of train-clean-100 train-clean-360 train-other-500
eval_subsets="dev-clean dev-other test-clean test-other"
bpe_vocab_size=5000        # English only: the dictionary is these BPE pieces
valid_set=dev_clean        # validation set of training
score_names="test_clean:librispeech_clean test_other:librispeech_other"   # <set>:<column>
. "$FIREREDASR_ROOT/utils/parse_options.sh"

to_dir() { echo "${1//-/_}"; }
if [ -n "$subsets" ]; then
  train_subsets=""; eval_subsets=""
  for s in $subsets; do
    case $s in train-*) train_subsets+="$s " ;; *) eval_subsets+="$s " ;; esac
  done
  [ -n "$train_subsets" ] || { echo "$0: --subsets names no train-* subset" >&2; exit 1; }
fi
if [ "$(echo $train_subsets | wc -w)" -eq 1 ]; then
  train_set=$(to_dir $train_subsets)
else
  train_set=train
fi
test_sets=""
for s in $eval_subsets; do test_sets+="$(to_dir "$s") "; done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -z "$librispeech_dir" ]; then
    log 0 "downloading LibriSpeech ($train_subsets $eval_subsets) into $download_dir"
    # shellcheck disable=SC2086
    "$py" "$FIREREDASR_ROOT/local/download_librispeech.py" --dest "$download_dir" \
      --base_url "$data_url" --subsets $train_subsets $eval_subsets
    librispeech_dir=$download_dir/LibriSpeech
  fi
  log 0 "data dirs from $librispeech_dir"
  # shellcheck disable=SC2086
  "$py" "$FIREREDASR_ROOT/local/prepare_librispeech.py" "$librispeech_dir" "$data" \
    --subsets $train_subsets $eval_subsets
  if [ "$train_set" = train ]; then
    srcs=()
    for s in $train_subsets; do srcs+=("$data/$(to_dir "$s")"); done
    "$FIREREDASR_ROOT/utils/combine_data.sh" "$data/train" "${srcs[@]}"
  fi
fi

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" \
  --train_set "$train_set" --valid_set "$valid_set" --test_sets "$test_sets" \
  --score_names "$score_names" --bpe_vocab_size "$bpe_vocab_size" "${forwarded_options[@]}"
