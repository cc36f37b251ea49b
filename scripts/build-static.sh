#!/bin/sh
# Builds the static dicomrecv binary. The Dockerfile runs exactly this script,
# and so does .ci/run (no Docker engine runs in CI), so the image's build is tested.
# Usage: scripts/build-static.sh OUTPUT
set -eu
out=${1:?usage: build-static.sh OUTPUT}
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out" ./cmd/dicomrecv
