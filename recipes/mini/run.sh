#!/usr/bin/env bash
# Mini recipe: a synthetic Mandarin corpus (espeak-ng voices reading sentences built from
# jieba's dictionary), every stage on a 2-core laptop CPU, no download and no GPU.
#   bash recipes/mini/run.sh [--tiny true] [--stage N] [--stop_stage M]
#   0  synthesise data/{train,dev,test} (16 kHz wavs + Kaldi data dirs)
#   1-12  the shared stages (features ... results table): recipes/asr.sh --help.
#      Stages 5-6 train an external LSTM LM on the transcripts, which stage 7 fuses with the
#      AED (--elm false: without it). Stage 8 builds the base LLM (unless --llm_base_dir is
#      given): a byte-level BPE tokenizer with the Qwen2 chat tokens and a tiny Qwen2
#      pretrained on the training transcripts and to repeat what its context holds; stage 9
#      then trains the adapter and LoRA on the frozen AED encoder.
# --tiny true runs every stage on a few dozen utterances in a few minutes (the CI check).
set -euo pipefail
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe_dir/../../utils/common.sh"
forward_options_to=$FIREREDASR_ROOT/recipes/asr.sh   # its options are accepted here too
stage=0
stop_stage=12
data=$recipe_dir/data
exp=$recipe_dir/exp
nj=2
tiny=false                 # true: a few dozen utterances, tiny models, minutes end to end
seed=1                     # the corpus (text, voices) is a function of this seed
# More sentences, each seen fewer times, at the same steps: the AED's decoder generalises
# better (validation accuracy 0.768 against 0.732 with 6000 x 13 epochs) and joint decoding
# turns that into dev CER (24.62% against 26.53%); so does the LLM (RESULTS.md).
num_train=11000            # synthetic utterances per set
num_dev=200
num_test=300
words_per_tag=600          # vocabulary: the most frequent N words per part of speech
bpe_vocab_size=100         # the corpus has no English: a small BPE model suffices
average_num=2              # checkpoints (one per epoch) averaged by the export stages (at most)
llm_pretrain_steps=1000    # stage 8: pretraining steps of the tiny Qwen2
# Stage 8's stand-in learns to repeat a CTC-shaped slot (one token per character, each
# stretched over 1-3 positions with blanks) besides the transcripts' language: an LLM that
# cannot read its context gives stage 9 nothing to adapt to (RESULTS.md, issue 9).
llm_pretrain_opts="--lr 1e-3 --copy_fraction 0.5 --tie_word_embeddings true --char_tokens true
  --copy_max_repeat 3 --copy_blanks true"
llm_base_dir=              # a base LLM folder to use instead of the tiny Qwen2 built here
score_names="test:mini_test"   # decoded sets, <set>:<results-table column>
# Stages 5-6 train an external LSTM LM on the training transcripts, and stage 7 fuses it
# with the AED's joint decode at the weight that does best on dev (row aed_elm). The
# sentences are random word sequences, so the words' spelling is the context that tells
# homophones and tones apart; the AED's own decoder learns it only in part (RESULTS.md).
elm=true
elm_weights=0.5            # fusion weights tried on dev (0 is always tried); 0.5 was the
                           # best of 0.3/0.5/0.7 with every LM and beam tried (RESULTS.md)
train_overrides=           # added to this recipe's AED, LM and LLM settings below
elm_train_overrides=
llm_train_overrides=
decode_overrides=
# The AED's decodes (plain, LM sweep, fused): joint CTC/attention beam search. Rescoring the
# CTC prefix beam's n-best (attention_rescoring) can only pick what that beam kept: its
# 30-best holds the reference for 62 of 200 dev sentences. On dev (RESULTS.md) 24.62% CER
# against 27.17% for rescoring 30 prefixes and 29.09% for the attention search alone (beam
# 10). The fused LM needs the wider beam: with it, beam 20 17.84%, 10 19.12%, 30 17.77%.
aed_decode_overrides="--decode_mode joint_ctc_attention --beam_size 20"
. "$FIREREDASR_ROOT/utils/parse_options.sh"

# Model and schedule sizes for 2 CPU cores; --train_overrides/--llm_train_overrides add to them.
# The AED: a d 128 Conformer (6+2 layers, 3.8M parameters, ~2x faster than aed_xs) with joint
# CTC and an auxiliary CTC on pinyin initials/finals (it ends the CTC plateau ~450 steps
# sooner, RESULTS.md); lr 1e-3 (2e-3 and above kept it on the CTC plateau), cosine decay over
# the ~330 steps x 7 epochs, no SpecAugment (too few epochs for it to pay off), no dropout
# (on dev 32.61% against 36.64% CER, and 18% less time: CPU dropout masks are slow; RESULTS.md).
# trainer.precision=auto trains in fp32 on a CPU without AMX, where bf16 matmuls are slower:
# on the development VM 13 fp32 epochs (of 6000 sentences) took less time than 11 in bf16.
aed_base="model=aed_xs model.d_model=128 model.n_layers_dec=2 model.ctc_weight=0.5
  model.pinyin_ctc_weight=0.5 model.residual_dropout=0.0 model.dropout_rate=0.0 optim.lr=1e-3
  scheduler=warmup_cosine scheduler.warmup_steps=100 scheduler.total_steps=2310
  trainer.max_epochs=7 data.max_frames_per_batch=4000 data.num_workers=1
  data.spec_augment.enabled=false trainer.precision=auto trainer.log_every=25
  trainer.valid_every=0 trainer.save_every=0 trainer.keep_last=5"
# The LM: a 256-wide 2-layer LSTM (1.59M parameters), 8 epochs (~500 steps) at lr 2e-2; it
# learns the spelling by steps (lr 2e-3 after 20 epochs: dev token accuracy 0.19, dev CER
# with fusion 21.23%; 2e-2 after 10: 0.237, 19.12%; RESULTS.md).
elm_base="model.embedding_dim=256 model.hidden_size=256 optim.lr=2e-2 trainer.max_epochs=8
  data.max_frames_per_batch=1000 data.num_workers=0 scheduler.warmup_steps=50
  scheduler.total_steps=500 trainer.log_every=50 trainer.valid_every=0 trainer.save_every=0"
# The encoder stays as the AED trained it (eval mode, twice the steps per minute); the
# adapter CTC gives the adapter a direct signal from the first step. Without SpecAugment the
# adapter learns far faster in these few epochs (RESULTS.md: dev token accuracy 0.437 against
# 0.272 after 7 epochs), and the features then repeat, so the encoder outputs are cached;
# with no LoRA dropout that makes a step ~2.4x cheaper on CPU (bench/train_llm_frozen.py).
# Each process keeps its own share of the utterances (data.shard_by), so its cache hits from
# the second epoch on. Full and --tiny runs share all of it. The adapter learns by steps more
# than by audio: batches of 2000 frames over 5 epochs beat 8000 over 6 on the dev set (token
# accuracy 0.534 against 0.414) in less time, and more steps keep paying (6000 sentences: dev
# CER 46.93% after 10 epochs, 43.09% after 14; 11000 sentences: test 45.23% after 6 epochs,
# 43.89% after 7). 5 epochs of 11000 (~3340 steps) pay for the external LM (stages 5-7,
# ~2 minutes) within the 45-minute budget: the LM gained the AED 7.0 points of test CER
# (22.72% -> 15.71%), the 6th epoch's loss cost the LLM 4.2 (45.23% -> 49.44%; RESULTS.md).
# The machine runs up to ~12% slower on some days, so the whole recipe is kept near 40
# minutes at its usual speed (42.6 on such a day).
llm_method="model.freeze_encoder=true model.adapter_ctc_weight=0.3 model.lora_dropout=0.0
  data.spec_augment.enabled=false model.encoder_cache_gb=2 data.shard_by=utterance"
llm_base="model.lora_r=16 model.lora_alpha=32 optim.lr=1e-3 scheduler.warmup_steps=50
  scheduler.total_steps=3340 trainer.max_epochs=5 data.max_frames_per_batch=2000
  data.num_workers=1 trainer.precision=auto trainer.log_every=25 trainer.valid_every=0
  trainer.save_every=0 trainer.keep_last=2"
if [ "$tiny" = true ]; then
  num_train=48; num_dev=8; num_test=12; words_per_tag=40; llm_pretrain_steps=30
  aed_base="model=aed_xs model.n_layers_enc=2 model.n_layers_dec=1 model.d_model=64
    model.pinyin_ctc_weight=0.5
    model.n_head=2 model.kernel_size=7 optim.lr=2e-3 scheduler.warmup_steps=5
    trainer.max_steps=8 data.max_frames_per_batch=3000 data.num_workers=0
    trainer.log_every=2 trainer.valid_every=0 trainer.save_every=4 trainer.progress_bar=false"
  llm_base="model.lora_r=4 model.lora_alpha=8 optim.lr=5e-4 scheduler.warmup_steps=2
    scheduler.total_steps=10 trainer.max_steps=4 data.max_frames_per_batch=3000
    data.num_workers=0 trainer.log_every=2 trainer.valid_every=0 trainer.save_every=2
    trainer.progress_bar=false"
  decode_overrides="--decode_max_len 8 $decode_overrides"
  elm_base="model.embedding_dim=32 model.hidden_size=32 trainer.max_steps=6
    data.max_frames_per_batch=200 data.num_workers=0 trainer.log_every=2 trainer.valid_every=0
    trainer.save_every=3 trainer.progress_bar=false"
  elm_weights=0.3
fi
train_overrides="$(echo $aed_base) $train_overrides"
llm_train_overrides="$(echo $llm_method) $(echo $llm_base) $llm_train_overrides"
elm_train_overrides="$(echo $elm_base) $elm_train_overrides"
if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -f "$data/test/wav.scp" ] && [ -f "$data/train/utt2dur" ]; then
    log 0 "$data complete, skipped"
  else
    log 0 "synthesising $num_train/$num_dev/$num_test utterances into $data (seed $seed)"
    "$py" "$FIREREDASR_ROOT/local/make_synthetic_corpus.py" --out_dir "$data" \
      --wav_dir "$data/wav" --num_train "$num_train" --num_dev "$num_dev" \
      --num_test "$num_test" --words_per_tag "$words_per_tag" --seed "$seed" --nj "$nj"
  fi
fi

llm_base_args=(--llm_base_dir "$llm_base_dir")
if [ -z "$llm_base_dir" ]; then   # stage 8 builds the tiny Qwen2 of this recipe
  llm_base_args=(--llm_base_dir "$exp/llm_base" --llm_base_cmd "$(printf '%q ' "$py" \
    "$FIREREDASR_ROOT/local/make_tiny_llm.py" --text "$data/train/text" \
    --valid_text "$data/dev/text" --out_dir "$exp/llm_base" --steps "$llm_pretrain_steps" \
    $llm_pretrain_opts $([ "$tiny" = true ] && echo --tiny))")
fi

asr_stages --stage "$stage" --stop_stage "$stop_stage" --data "$data" --exp "$exp" --nj "$nj" \
  --train_set train --valid_set dev --test_sets "dev test" --score_names "$score_names" \
  --bpe_vocab_size "$bpe_vocab_size" --average_num "$average_num" \
  --train_overrides "$train_overrides" --elm_train_overrides "$elm_train_overrides" \
  --llm_train_overrides "$llm_train_overrides" --decode_overrides "$decode_overrides" \
  --aed_decode_overrides "$aed_decode_overrides" --elm "$elm" --elm_weights "$elm_weights" \
  "${llm_base_args[@]}" "${forwarded_options[@]}"
