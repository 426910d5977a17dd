# Stages 1-2 shared by every corpus recipe (sourced by recipes/<corpus>/run.sh after its own
# stage 0). Expects: stage stop_stage nj data train_set test_sets feat_mode cmvn_num_utts
# bpe_vocab_size char_min_count speed_perturb, and $py and log() from utils/common.sh.
# Later stages (training, decoding, scoring) are added by the issues that build them.

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
