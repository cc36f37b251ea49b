#!/usr/bin/env bash
# Side-by-side benchmark of dicomrecv against DCMTK storescp (issue 9).
#   bench/run.sh --quick     1 association, PDU 16 KiB, both senders, 3 repetitions (a few minutes)
#   bench/run.sh             the full matrix, 5 repetitions
#   bench/run.sh -profile    CPU and allocation profile of dicomrecv on the small files
# Needs DCMTK and python3-pydicom (bash .ci/run installs them) and Go. Results: bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench "$@"
