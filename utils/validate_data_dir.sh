#!/usr/bin/env bash
# Check a data dir (sorted files, consistent ids, no empty text)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir validate "$@"
