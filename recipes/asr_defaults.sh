# Options every corpus recipe shares, with their defaults (sourced by recipes/<corpus>/run.sh
# before its own options; each can be given as --name value). Paths given as options are
# relative to the current directory; the defaults live in the recipe folder.
stage=0
stop_stage=2
nj=4                       # parallel jobs (features, decoding; CPU training processes)
ngpu=0                     # GPUs for training (stage 3) and decoding (stage 5)
data=$recipe_dir/data
exp=$recipe_dir/exp
feat_mode=ark              # ark: ark/scp features; on_the_fly: computed while training
cmvn_num_utts=0            # 0: CMVN over every training utterance
bpe_vocab_size=1000
char_min_count=1           # characters seen fewer times are left to <unk>
speed_perturb=false        # true: train on 0.9/1.0/1.1 speed copies
train_overrides=           # Hydra overrides for stage 3, e.g. "model=aed_s optim.lr=1e-3"
master_port=29500          # torch.distributed rendezvous port for stage 3
average_num=10             # stage 4: checkpoints averaged
average_mode=last          # last | best (by validation loss)
aed_model_dir=             # stage 5: AED folder to decode with (default: $exp/aed/model)
llm_base_dir=              # stages 6-7: local Hugging Face folder of the LLM (Qwen2-7B-Instruct)
llm_train_overrides=       # Hydra overrides for stage 7 (conf/train_llm.yaml)
llm_model_dir=             # stage 8: LLM folder to decode with (default: $exp/llm/model)
model_name=                # row name in the results table (default: the folder's name)
decode_overrides=          # extra fireredasr-decode flags, e.g. "--beam_size 5"
elm=false                  # true: stage 4 also trains an external LSTM LM on the training text;
                           # stage 5 picks its fusion weight on the dev set and decodes with it
elm_weights="0.1 0.2 0.3 0.5"   # fusion weights tried on the dev set (0 is always tried)
elm_train_overrides=       # Hydra overrides for the LM (conf/train_lm.yaml)
