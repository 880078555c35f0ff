#!/usr/bin/env bash
# Bad-input campaign: at least 10,000 malformed or hostile requests, slow
# clients and a connection storm against a fresh ecsd; zero 5xx, zero panics,
# bounded memory. Usage: bench/badinput.sh [-min N] [-c N] [-slow N] [-storm N] [-seed S]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/ecsd
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/ecsd
go run ./bench/badinput -ecsd "$bin" "$@"
