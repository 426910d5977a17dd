#!/usr/bin/env bash
# Decode every prepared test set with a released model folder at the published settings and
# print our table (CER; WER for LibriSpeech) beside the published one.
#   bash recipes/reproduce_published.sh --model_dir pretrained_models/FireRedASR-AED-L [--nj 4 | --ngpu 1]
#   bash recipes/reproduce_published.sh --asr_type llm --model_dir pretrained_models/FireRedASR-LLM-L --ngpu 1
# Test sets are those prepared by stage 0 of each recipe (recipes/<corpus>/data/<set>).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../utils/common.sh"

asr_type=aed
model_dir=
model_name=
corpora="aishell aishell2 wenetspeech kespeech librispeech"
data_root=                 # default: recipes/<corpus>/data
exp_root=$here/exp_published
nj=1
ngpu=0
. "$FIREREDASR_ROOT/utils/parse_options.sh"

[ -n "$model_dir" ] || { echo "$0: give --model_dir (a released model folder)" >&2; exit 1; }
case $asr_type in
  aed) st=7 ;;
  llm) st=11 ;;
  *) echo "$0: --asr_type must be aed or llm" >&2; exit 1 ;;
esac
model_dir=$(cd "$model_dir" && pwd)
mkdir -p "$exp_root"
exp_root=$(cd "$exp_root" && pwd)
for corpus in $corpora; do
  data=${data_root:+$data_root/$corpus}
  data=${data:-$here/$corpus/data}
  if [ ! -d "$data" ]; then log "$st" "$corpus: no data dirs at $data, skipped"; continue; fi
  data=$(cd "$data" && pwd)
  bash "$here/$corpus/run.sh" --stage $st --stop_stage $st --data "$data" \
    --exp "$exp_root/$corpus" --${asr_type}_model_dir "$model_dir" \
    --model_name "${model_name:-$(basename "$model_dir")}" --nj "$nj" --ngpu "$ngpu"
done
"$py" -m fireredasr.bin.results_table "$exp_root" --out "$exp_root/RESULTS.md" \
  --plot "$exp_root/results.png"
