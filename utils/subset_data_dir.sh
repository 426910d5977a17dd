#!/usr/bin/env bash
# Subset a data dir: --first N | --random N [--seed S] | --utt_list FILE, then SRC DST
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir subset "$@"
