# Stages 1-9 shared by every corpus recipe (sourced by recipes/<corpus>/run.sh after its own
# stage 0). Expects: stage stop_stage nj ngpu data exp train_set test_sets feat_mode
# cmvn_num_utts bpe_vocab_size char_min_count speed_perturb valid_set train_overrides
# average_num average_mode aed_model_dir llm_base_dir llm_train_overrides llm_model_dir
# model_name decode_overrides elm elm_weights elm_train_overrides score_names ("<set>:<results column> ..."), and $py and log() from
# utils/common.sh. A recipe may define prepare_llm_base() to make $llm_base_dir at stage 6.

stage_times_file=$exp/stage_times.tsv   # each stage's wall time, appended by log()

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

launch_training() {  # <python module> <Hydra overrides...>: --ngpu GPUs or --nj CPU processes
  local nproc=$nj
  [ "$ngpu" -gt 0 ] && nproc=$ngpu
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" -m torch.distributed.run \
    --nproc_per_node "$nproc" --master_port "$master_port" -m "$@"
}

model_row_name() {  # <model folder>: exp/aed/model -> aed; a released folder keeps its name
  local name=$model_name
  if [ -z "$name" ]; then
    name=$(basename "$1")
    [ "$name" = model ] && name=$(basename "$(dirname "$1")")
  fi
  echo "$name"
}

# Stages 5 (AED) and 8 (LLM): decode every prepared test set with a model folder and score it.
decode_and_score() {  # <stage> <asr_type> <model folder> [<row-name suffix> <decode flags...>]
  local st=$1 asr_type=$2 model_dir=$3 suffix=${4:-} pair set_name column name
  shift 3
  if [ $# -gt 0 ]; then shift; fi
  [ -f "$model_dir/model.pth.tar" ] || { echo "$0: no model folder at $model_dir" >&2; exit 1; }
  name=$(model_row_name "$model_dir")$suffix
  for pair in $score_names; do
    set_name=${pair%%:*}
    column=${pair#*:}
    if [ ! -d "$data/$set_name" ]; then log "$st" "$data/$set_name not prepared, skipped"; continue; fi
    log "$st" "decoding $data/$set_name with $model_dir"
    # shellcheck disable=SC2086
    "$py" -m fireredasr.bin.decode --asr_type "$asr_type" --model_dir "$model_dir" \
      --data_dir "$data/$set_name" --out_dir "$exp/$name/decode_$set_name" --nj "$nj" \
      --ngpu "$ngpu" --test_set "$column" --model_name "$name" $decode_overrides "$@"
  done
}

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log 3 "training the AED ($ngpu GPUs / $nj CPU processes) into $exp/aed"
  # shellcheck disable=SC2086
  launch_training fireredasr.bin.train_aed exp_dir="$exp/aed" data.train_dir="$data/$train_set" \
    data.valid_dir="$data/$valid_set" data.lang_dir="$data/lang" \
    data.cmvn="$data/$train_set/cmvn.ark" $train_overrides
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log 4 "averaging the last $average_num checkpoints ($average_mode) into $exp/aed/model"
  "$py" -m fireredasr.bin.export_aed --exp_dir "$exp/aed" --num "$average_num" \
    --mode "$average_mode"
  if [ "$elm" = true ]; then   # FireRedASR2's external LSTM LM, on the training transcripts
    log 4 "training the external LSTM LM into $exp/elm"
    # shellcheck disable=SC2086
    launch_training fireredasr.bin.train_lm exp_dir="$exp/elm" data.train_dir="$data/$train_set" \
      data.valid_dir="$data/$valid_set" data.lang_dir="$data/lang" $elm_train_overrides
    "$py" -m fireredasr.bin.export_lm --exp_dir "$exp/elm" --num "$average_num" \
      --mode "$average_mode"
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  decode_and_score 5 aed "${aed_model_dir:-$exp/aed/model}"
  if [ "$elm" = true ]; then   # fusion weight chosen on the dev set, then the test sets
    aed_dir=${aed_model_dir:-$exp/aed/model}
    log 5 "sweeping the LM fusion weight ($elm_weights) on $data/$valid_set"
    # shellcheck disable=SC2086
    best_weight=$("$py" -m fireredasr.bin.sweep_elm_weight --model_dir "$aed_dir" \
      --elm_dir "$exp/elm/elm" --data_dir "$data/$valid_set" --nj "$nj" --ngpu "$ngpu" \
      --out_dir "$exp/$(model_row_name "$aed_dir")/elm_sweep_$valid_set" --weights $elm_weights)
    log 5 "best elm_weight on $valid_set: $best_weight"
    decode_and_score 5 aed "$aed_dir" _elm --elm_dir "$exp/elm/elm" --elm_weight "$best_weight"
  fi
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  # A recipe may make its base LLM itself (recipes/mini builds and pretrains a tiny one).
  if declare -F prepare_llm_base > /dev/null; then prepare_llm_base; fi
  log 6 "checking the base LLM folder $llm_base_dir"
  if [ -z "$llm_base_dir" ] || [ ! -f "$llm_base_dir/config.json" ]; then
    echo "$0: give --llm_base_dir, a local Hugging Face folder of the LLM (Qwen2-7B-Instruct)" >&2
    exit 1
  fi
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  log 7 "training the Encoder-Adapter-LLM with LoRA into $exp/llm"
  # shellcheck disable=SC2086
  launch_training fireredasr.bin.train_llm exp_dir="$exp/llm" data.train_dir="$data/$train_set" \
    data.valid_dir="$data/$valid_set" data.cmvn="$data/$train_set/cmvn.ark" \
    model.encoder_init="${aed_model_dir:-$exp/aed/model}" model.llm_dir="$llm_base_dir" \
    $llm_train_overrides
  "$py" -m fireredasr.bin.export_llm --exp_dir "$exp/llm" --num "$average_num" \
    --mode "$average_mode"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  decode_and_score 8 llm "${llm_model_dir:-$exp/llm/model}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  log 9 "results table of every score under $exp"
  "$py" -m fireredasr.bin.results_table "$exp" --out "$exp/RESULTS.md" --plot "$exp/results.png"
fi

stage_time_final
