#!/usr/bin/env bash
# Split a data dir for parallel jobs: DIR NJ (writes DIR/splitNJ/1..NJ)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir split "$@"
