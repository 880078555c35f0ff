#!/usr/bin/env bash
# Crash-safety campaign: SIGKILL ecsd at random moments under concurrent
# write load (default 20 times), restart it, verify every acknowledged write.
# Usage: bench/crash.sh [-kills N] [-seed S] [-max-uptime D] [-work DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/ecsd
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/ecsd
go run ./bench/crash -ecsd "$bin" "$@"
