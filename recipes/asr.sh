#!/usr/bin/env bash
# The stages every corpus recipe shares (ESPnet's asr.sh idea): recipes/<corpus>/run.sh
# prepares the corpus's Kaldi data dirs (its stage 0) and calls this script with flags.
#   recipes/asr.sh --data DIR --exp DIR --train_set train --valid_set dev \
#       --test_sets "dev test" --score_names "test:aishell1" [--stage N] [--stop_stage M]
#
# stage  what                                                          outputs
#    1   fbank features (--nj jobs, or --feat_mode on_the_fly) and      data/<set>/feats.scp,
#        global CMVN; --speed_perturb true: 0.9/1.0/1.1 copies first    data/<train>/cmvn.ark
#    2   dict.txt and the English BPE model                             data/lang/{dict.txt,bpe.model}
#    3   train the AED (DeepSpeed + Hydra: conf/train_aed.yaml)         exp/aed/{train.log,checkpoints,...}
#    4   average the AED's checkpoints, export the released layout      exp/aed/model/
#    5   --elm true: train the external LSTM LM (conf/train_lm.yaml)    exp/elm/
#    6   --elm true: average and export the LSTM LM                     exp/elm/elm/
#    7   decode the test sets with the AED and score (--elm true: the   exp/<model>/decode_<set>/
#        fusion weight chosen on the validation set, then fused decode)
#    8   the base LLM: run --llm_base_cmd when the folder is missing,   --llm_base_dir
#        then check the folder (Qwen2-7B-Instruct, local: no download)
#    9   train the Encoder-Adapter-LLM with LoRA (conf/train_llm.yaml)  exp/llm/
#   10   average and export the released LLM layout                    exp/llm/model/
#   11   decode the test sets with the LLM and score                   exp/<model>/decode_<set>/
#   12   results table and bar chart of every score under --exp         exp/RESULTS.md, results.png
# Each stage logs its wall time (also into <exp>/stage_times.tsv); complete outputs are
# skipped on a re-run.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../utils/common.sh"

stage=1
stop_stage=12
nj=4                       # parallel jobs (features, decoding; CPU training processes)
ngpu=0                     # GPUs for training and decoding
data=data                  # the Kaldi data dirs (stage 0 of the recipe made them)
exp=exp                    # experiment folder
train_set=train            # training set (a data dir under --data)
valid_set=dev              # validation set of training, and of the LM weight sweep
test_sets="dev test"       # sets that get features
score_names="test:test"    # decoded sets, "<set>:<results-table column> ..."
feat_mode=ark              # ark: ark/scp features; on_the_fly: computed while training
cmvn_num_utts=0            # 0: CMVN over every training utterance
bpe_vocab_size=1000
char_min_count=1           # characters seen fewer times are left to <unk>
speed_perturb=false        # true: train on 0.9/1.0/1.1 speed copies
train_overrides=           # Hydra overrides of the AED training, e.g. "model=aed_s optim.lr=1e-3"
master_port=29500          # torch.distributed rendezvous port of the training stages
average_num=10             # checkpoints averaged by the export stages
average_mode=last          # last | best (by validation loss)
aed_model_dir=             # AED folder to decode with and to start the LLM's encoder from
                           # (default: <exp>/aed/model)
elm=false                  # true: train an external LSTM LM on the training text and decode
                           # with it fused at the weight the validation set prefers
elm_weights="0.1 0.2 0.3 0.5"   # fusion weights tried on the validation set (0 is always tried)
elm_train_overrides=       # Hydra overrides of the LM training (conf/train_lm.yaml)
llm_base_dir=              # local Hugging Face folder of the LLM (Qwen2-7B-Instruct)
llm_base_cmd=              # command that makes --llm_base_dir when it is missing (mini)
llm_train_overrides=       # Hydra overrides of the LLM training (conf/train_llm.yaml)
llm_model_dir=             # LLM folder to decode with (default: <exp>/llm/model)
model_name=                # row name in the results table (default: the folder's name)
decode_overrides=          # extra fireredasr-decode flags, e.g. "--beam_size 5"
aed_decode_overrides=      # extra flags of stage 7's AED decodes (not the LLM's), e.g.
                           # "--decode_mode joint_ctc_attention"; with --elm true the weight
                           # sweep and the fused decode use them too (an attention search)
. "$FIREREDASR_ROOT/utils/parse_options.sh"

stage_times_file=$exp/stage_times.tsv   # each stage's wall time, appended by log()
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }   # is stage $1 selected?

launch_training() {  # <python module> <Hydra overrides...>: --ngpu GPUs or --nj CPU processes
  local nproc=$nj
  [ "$ngpu" -gt 0 ] && nproc=$ngpu
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" -m torch.distributed.run \
    --nproc_per_node "$nproc" --master_port "$master_port" -m "$@"
}

export_model() {  # <stage> <export module> <experiment folder>
  log "$1" "averaging the $average_mode $average_num checkpoints of $3"
  "$py" -m "$2" --exp_dir "$3" --num "$average_num" --mode "$average_mode"
}

model_row_name() {  # <model folder>: exp/aed/model -> aed; a released folder keeps its name
  local name=$model_name
  if [ -z "$name" ]; then
    name=$(basename "$1")
    [ "$name" = model ] && name=$(basename "$(dirname "$1")")
  fi
  echo "$name"
}

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

if [ "$speed_perturb" = true ]; then
  if run 1 && [ ! -f "$data/${train_set}_sp/wav.scp" ]; then
    log 1 "speed perturbation 0.9/1.0/1.1 of $data/$train_set"
    "$FIREREDASR_ROOT/utils/perturb_data_dir_speed.sh" "$data/$train_set" "$data/${train_set}_sp"
  fi
  train_set=${train_set}_sp
fi
aed_model_dir=${aed_model_dir:-$exp/aed/model}
llm_model_dir=${llm_model_dir:-$exp/llm/model}

if run 1; then
  log 1 "features ($feat_mode) and global CMVN"
  sets=("$data/$train_set")
  for s in $test_sets; do sets+=("$data/$s"); done
  "$py" -m fireredasr.bin.compute_fbank --nj "$nj" --mode "$feat_mode" \
    --cmvn_out "$data/$train_set/cmvn.ark" --cmvn_num_utts "$cmvn_num_utts" "${sets[@]}"
  for s in "${sets[@]}"; do "$FIREREDASR_ROOT/utils/validate_data_dir.sh" "$s"; done
fi

if run 2; then
  log 2 "dictionary and English BPE from $data/$train_set/text"
  # A lang dir with the released train_bpe1000.model (copied from a released folder to
  # fine-tune it) counts as complete too.
  if [ -f "$data/lang/dict.txt" ] && { [ -f "$data/lang/bpe.model" ] ||
                                       [ -f "$data/lang/train_bpe1000.model" ]; }; then
    log 2 "$data/lang complete, skipped"
  else
    check=()
    for s in $test_sets; do check+=("$data/$s/text"); done
    "$py" -m fireredasr.bin.build_tokenizer --text "$data/$train_set/text" --out_dir "$data/lang" \
      --bpe_vocab_size "$bpe_vocab_size" --char_min_count "$char_min_count" \
      --check_text "${check[@]}"
  fi
fi

if run 3; then
  log 3 "training the AED ($ngpu GPUs / $nj CPU processes) into $exp/aed"
  # shellcheck disable=SC2086
  launch_training fireredasr.bin.train_aed exp_dir="$exp/aed" data.train_dir="$data/$train_set" \
    data.valid_dir="$data/$valid_set" data.lang_dir="$data/lang" \
    data.cmvn="$data/$train_set/cmvn.ark" $train_overrides
fi

if run 4; then
  export_model 4 fireredasr.bin.export_aed "$exp/aed"
fi

if run 5; then
  if [ "$elm" = true ]; then
    log 5 "training the external LSTM LM into $exp/elm"
    # shellcheck disable=SC2086
    launch_training fireredasr.bin.train_lm exp_dir="$exp/elm" data.train_dir="$data/$train_set" \
      data.valid_dir="$data/$valid_set" data.lang_dir="$data/lang" $elm_train_overrides
  else
    log 5 "no external LM (--elm false), skipped"
  fi
fi

if run 6; then
  if [ "$elm" = true ]; then export_model 6 fireredasr.bin.export_lm "$exp/elm"
  else log 6 "no external LM (--elm false), skipped"; fi
fi

if run 7; then
  # shellcheck disable=SC2086
  decode_and_score 7 aed "$aed_model_dir" "" $aed_decode_overrides
  if [ "$elm" = true ]; then
    log 7 "sweeping the LM fusion weight ($elm_weights) on $data/$valid_set"
    # shellcheck disable=SC2086
    best_weight=$("$py" -m fireredasr.bin.sweep_elm_weight --model_dir "$aed_model_dir" \
      --elm_dir "$exp/elm/elm" --data_dir "$data/$valid_set" --nj "$nj" --ngpu "$ngpu" \
      --out_dir "$exp/$(model_row_name "$aed_model_dir")/elm_sweep_$valid_set" \
      --weights $elm_weights $decode_overrides $aed_decode_overrides)
    log 7 "best elm_weight on $valid_set: $best_weight"
    # The fused row differs from the plain one by the LM alone: the same search settings.
    decode_and_score 7 aed "$aed_model_dir" _elm $aed_decode_overrides \
      --elm_dir "$exp/elm/elm" --elm_weight "$best_weight"
  fi
fi

if run 8; then
  if [ -n "$llm_base_cmd" ] && [ -n "$llm_base_dir" ] && [ ! -f "$llm_base_dir/config.json" ]; then
    log 8 "making the base LLM $llm_base_dir"
    eval "$llm_base_cmd"
  fi
  log 8 "checking the base LLM folder ${llm_base_dir:-(none given)}"
  if [ -z "$llm_base_dir" ] || [ ! -f "$llm_base_dir/config.json" ]; then
    echo "$0: give --llm_base_dir, a local Hugging Face folder of the LLM (Qwen2-7B-Instruct)" >&2
    exit 1
  fi
fi

if run 9; then
  log 9 "training the Encoder-Adapter-LLM with LoRA into $exp/llm"
  # shellcheck disable=SC2086
  launch_training fireredasr.bin.train_llm exp_dir="$exp/llm" data.train_dir="$data/$train_set" \
    data.valid_dir="$data/$valid_set" data.cmvn="$data/$train_set/cmvn.ark" \
    model.encoder_init="$aed_model_dir" model.llm_dir="$llm_base_dir" $llm_train_overrides
fi

if run 10; then
  export_model 10 fireredasr.bin.export_llm "$exp/llm"
fi

if run 11; then
  decode_and_score 11 llm "$llm_model_dir"
fi

if run 12; then
  log 12 "results table of every score under $exp"
  "$py" -m fireredasr.bin.results_table "$exp" --out "$exp/RESULTS.md" --plot "$exp/results.png"
fi

stage_time_final
