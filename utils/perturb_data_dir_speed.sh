#!/usr/bin/env bash
# Speed-perturbed copy: [--factors 0.9 1.0 1.1] SRC DST
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir perturb_speed "$@"
