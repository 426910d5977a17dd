# Stages 1-9 shared by every corpus recipe (sourced by recipes/<corpus>/run.sh after its own
# stage 0). Expects: stage stop_stage nj ngpu data exp train_set test_sets feat_mode
# cmvn_num_utts bpe_vocab_size char_min_count speed_perturb valid_set train_overrides
# average_num average_mode aed_model_dir llm_model_dir model_name decode_overrides score_names ("<set>:<results column> ..."), and $py and log() from
# utils/common.sh.

if [ "$speed_perturb" = true ]; then
  if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ] && [ ! -f "$data/${train_set}_sp/wav.scp" ]; then
    log 1 "speed perturbation 0.9/1.0/1.1 of $data/$train_set"
    "$FIREREDASR_ROOT/utils/perturb_data_dir_speed.sh" "$data/$train_set" "$data/${train_set}_sp"
  fi
  train_set=${train_set}_sp
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log 1 "features ($feat_mode) and global CMVN"
  sets=("$data/$train_set")
  for s in $test_sets; do sets+=("$data/$s"); done
  "$py" -m fireredasr.bin.compute_fbank --nj "$nj" --mode "$feat_mode" \
    --cmvn_out "$data/$train_set/cmvn.ark" --cmvn_num_utts "$cmvn_num_utts" "${sets[@]}"
  for s in "${sets[@]}"; do "$FIREREDASR_ROOT/utils/validate_data_dir.sh" "$s"; done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log 2 "dictionary and English BPE from $data/$train_set/text"
  if [ -f "$data/lang/dict.txt" ] && [ -f "$data/lang/train_bpe1000.model" ]; then
    log 2 "$data/lang complete, skipped"
  else
    check=()
    for s in $test_sets; do check+=("$data/$s/text"); done
    "$py" -m fireredasr.bin.build_tokenizer --text "$data/$train_set/text" --out_dir "$data/lang" \
      --bpe_vocab_size "$bpe_vocab_size" --char_min_count "$char_min_count" \
      --check_text "${check[@]}"
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log 3 "training the AED ($ngpu GPUs / $nj CPU processes) into $exp/aed"
  nproc=$nj
  [ "$ngpu" -gt 0 ] && nproc=$ngpu
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" -m torch.distributed.run \
    --nproc_per_node "$nproc" --master_port "${master_port:-29500}" \
    -m fireredasr.bin.train_aed exp_dir="$exp/aed" data.train_dir="$data/$train_set" \
    data.valid_dir="$data/$valid_set" data.lang_dir="$data/lang" \
    data.cmvn="$data/$train_set/cmvn.ark" $train_overrides
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log 4 "averaging the last $average_num checkpoints ($average_mode) into $exp/aed/model"
  "$py" -m fireredasr.bin.export_aed --exp_dir "$exp/aed" --num "$average_num" \
    --mode "$average_mode"
fi

for s in 6 7; do
  if [ "$stage" -le $s ] && [ "$stop_stage" -ge $s ]; then
    echo "$0: stage $s (FireRedASR-LLM training) is not part of the toolkit yet" >&2
    exit 1
  fi
done

# Stages 5 (AED) and 8 (LLM): decode every prepared test set with a model folder and score it.
decode_and_score() {  # <stage> <asr_type> <model folder>
  local st=$1 asr_type=$2 model_dir=$3 name=$model_name pair set_name column
  [ -f "$model_dir/model.pth.tar" ] || { echo "$0: no model folder at $model_dir" >&2; exit 1; }
  if [ -z "$name" ]; then   # exp/aed/model -> aed; a released folder keeps its own name
    name=$(basename "$model_dir")
    [ "$name" = model ] && name=$(basename "$(dirname "$model_dir")")
  fi
  for pair in $score_names; do
    set_name=${pair%%:*}
    column=${pair#*:}
    if [ ! -d "$data/$set_name" ]; then log "$st" "$data/$set_name not prepared, skipped"; continue; fi
    log "$st" "decoding $data/$set_name with $model_dir"
    # shellcheck disable=SC2086
    "$py" -m fireredasr.bin.decode --asr_type "$asr_type" --model_dir "$model_dir" \
      --data_dir "$data/$set_name" --out_dir "$exp/$name/decode_$set_name" --nj "$nj" \
      --ngpu "$ngpu" --test_set "$column" --model_name "$name" $decode_overrides
  done
}

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  decode_and_score 5 aed "${aed_model_dir:-$exp/aed/model}"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  decode_and_score 8 llm "${llm_model_dir:-$exp/llm/model}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  log 9 "results table of every score under $exp"
  "$py" -m fireredasr.bin.results_table "$exp" --out "$exp/RESULTS.md" --plot "$exp/results.png"
fi
