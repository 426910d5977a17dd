#!/usr/bin/env bash
# Decode every prepared test set with a released model folder at the published settings and
# print our CER table beside the published one.
#   bash recipes/reproduce_published.sh --model_dir pretrained_models/FireRedASR-AED-L [--nj 4 | --ngpu 1]
# Test sets are those prepared by stage 0 of each recipe (recipes/<corpus>/data/<set>).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../utils/common.sh"

asr_type=aed
model_dir=
model_name=
corpora="aishell aishell2 wenetspeech kespeech"
data_root=                 # default: recipes/<corpus>/data
exp_root=$here/exp_published
nj=1
ngpu=0
. "$FIREREDASR_ROOT/utils/parse_options.sh"

[ -n "$model_dir" ] || { echo "$0: give --model_dir (a released model folder)" >&2; exit 1; }
[ "$asr_type" = aed ] || { echo "$0: only --asr_type aed is supported so far" >&2; exit 1; }
model_dir=$(cd "$model_dir" && pwd)
mkdir -p "$exp_root"
exp_root=$(cd "$exp_root" && pwd)
for corpus in $corpora; do
  data=${data_root:+$data_root/$corpus}
  data=${data:-$here/$corpus/data}
  if [ ! -d "$data" ]; then log 5 "$corpus: no data dirs at $data, skipped"; continue; fi
  data=$(cd "$data" && pwd)
  bash "$here/$corpus/run.sh" --stage 5 --stop_stage 5 --data "$data" --exp "$exp_root/$corpus" \
    --aed_model_dir "$model_dir" --model_name "${model_name:-$(basename "$model_dir")}" \
    --nj "$nj" --ngpu "$ngpu"
done
"$py" -m fireredasr.bin.results_table "$exp_root" --out "$exp_root/RESULTS.md" \
  --plot "$exp_root/results.png"
