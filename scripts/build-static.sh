#!/bin/sh
# Builds the static dicomrecv binary. The Dockerfile runs exactly this script,
# and so does .ci/run (no Docker engine runs in CI), so the image's build is tested.
# Usage: scripts/build-static.sh OUTPUT
set -eu
out=${1:?usage: build-static.sh OUTPUT}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.commit=$commit" -o "$out" ./cmd/dicomrecv
