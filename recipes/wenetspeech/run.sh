#!/usr/bin/env bash
# WenetSpeech recipe (DESIGN.md section 11), from a local copy of the release
# (WenetSpeech.json + audio/ opus files; the corpus is distributed after registration).
#   bash recipes/wenetspeech/run.sh --corpus_dir /corpora/WenetSpeech [--train_subset M]
#   0  segments-based data dirs data/{train_<s|m|l>,dev,test_net,test_meeting} (streamed JSON)
#   1  fbank features (on the fly by default: L is too big to store) and CMVN over a subset
#   2  dict.txt and English BPE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ../../utils/common.sh

stage=0
stop_stage=2
nj=4
corpus_dir=
train_subset=L             # S | M | L
data=data
feat_mode=on_the_fly
cmvn_num_utts=50000
bpe_vocab_size=1000
char_min_count=1
speed_perturb=false
. ../../utils/parse_options.sh

train_set=train_${train_subset,,}
test_sets="dev test_net test_meeting"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus_dir" ] || { echo "$0: give --corpus_dir (the folder with WenetSpeech.json)" >&2; exit 1; }
  log 0 "data dirs from $corpus_dir/WenetSpeech.json"
  "$py" "$FIREREDASR_ROOT/local/prepare_wenetspeech.py" --corpus_dir "$corpus_dir" \
    --out_dir "$data" --train_subset "$train_subset"
fi

. ../asr_stages.sh
