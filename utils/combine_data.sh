#!/usr/bin/env bash
# Combine data dirs: DST SRC1 SRC2 ...
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$py" -m fireredasr.bin.data_dir combine "$@"
