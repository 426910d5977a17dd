#!/usr/bin/env bash
# Sort a data dir and keep utterances present in every file
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir fix "$@"
