#!/usr/bin/env bash
# One-shot GPU check (issue 13): a few minutes on one GPU, one table at the end.
#   bash bench/gpu_check.sh                 # on a GPU machine (needs only this checkout)
#   bash bench/gpu_check.sh --device cpu --quick true    # the same script, tiny, on a CPU
# Rows: AED training steps (aed_s, aed_m; bf16, DeepSpeed ZeRO-2) with MFU against the
# device's measured matmul peak; AED decoding, the toolkit's cached search against the
# released algorithm (identical hypotheses) and bf16/fp16 against fp32. Synthetic batches and
# the real examples in tests/fixtures; nothing is downloaded; LLM LoRA training steps of a
# Qwen2-0.5B-shaped model (random weights) on an aed_s encoder.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
device=cuda
quick=false
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --quick) quick=$2; shift 2 ;;
    *) echo "$0: unknown option $1 (--device D, --quick true|false)" >&2; exit 1 ;;
  esac
done
[ -x .venv/bin/python ] || bash utils/setup_venv.sh || exit 1
py=.venv/bin/python
log=$(mktemp -d)/gpu_check.log
half=bf16
[ "$device" = cpu ] || half=bf16,fp16
if [ "$quick" = true ]; then
  train_args="--steps 1 --utts 2 --frames 200 --vocab 500"; models="aed_xs"
  llm_args="--llm tiny --encoder aed_xs --utts 2 --frames 200 --steps 1 --lora_r 4"
else
  train_args="--steps 10 --utts 32 --frames 1000 --vocab 8000"; models="aed_s aed_m"
  llm_args="--llm qwen2-0.5b --encoder aed_s --utts 8 --frames 1000 --steps 5"
fi
{
  echo "# $(date -u +%FT%TZ) $(hostname)"
  if [ "$device" != cpu ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  fi
  $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  for m in $models; do
    # shellcheck disable=SC2086
    timeout 300 $py bench/train_aed.py --model "$m" --device "$device" --precisions bf16 \
      $train_args || echo "RESULT	AED training $m bf16 ($device)	failed	exit $?"
  done
  timeout 300 $py bench/decode_aed.py --device "$device" --half "$half" \
    $([ "$quick" = true ] && echo --shape tiny --decode_max_len 8 --e2e_max_len 8) \
    || echo "RESULT	AED decoding ($device)	failed	exit $? (hypotheses differ or error)"
  # shellcheck disable=SC2086
  timeout 300 $py bench/train_llm.py --device "$device" --precisions bf16 $llm_args \
    || echo "RESULT	LLM LoRA training ($device)	failed	exit $?"
} 2>&1 | tee "$log" | grep -v "^RESULT" | grep -E "^(#|torch|aed_|bf16|fp16|fp32|model|encoder|speed|released|toolkit|NVIDIA|qwen2|tiny|[A-Z].*GiB)" || true

echo
echo "| measurement | value | note |"
echo "|---|---|---|"
grep "^RESULT" "$log" | awk -F'\t' '{printf "| %s | %s | %s |\n", $2, $3, $4}'
