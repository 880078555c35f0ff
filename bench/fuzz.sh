#!/usr/bin/env bash
# Runs every fuzz target in the repository for a fixed time each.
# Usage: bench/fuzz.sh [TIME] [TARGET-REGEXP]   (TIME defaults to 60s; .ci/run uses 5s)
# Targets are found, not listed: every `func FuzzX(f *testing.F)` in a _test.go
# file. A failure leaves its input under the package's testdata/fuzz/FuzzX/;
# commit it with the fix so that every later `go test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
only=${2:-.}
failed=0
ran=0
summary=""
while IFS=: read -r file name; do
  [[ "$name" =~ $only ]] || continue
  pkg=./$(dirname "$file")
  echo "== $name in $pkg for $fuzztime"
  start=$(date +%s)
  # -parallel 2: the machine has 2 cores; more workers only contend.
  if out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" 2>&1); then
    status=ok
  else
    status=FAIL
    failed=$((failed + 1))
  fi
  echo "$out" | tail -n 4
  execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -n 1 | cut -d' ' -f2)
  summary+=$(printf '%-22s %-20s %4s  %10s execs  %4ss\n' "$name" "$pkg" "$status" "${execs:-?}" "$(( $(date +%s) - start ))")$'\n'
  ran=$((ran + 1))
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' internal cmd 2>/dev/null | sed 's/($//; s/:func /:/' | sort)
echo
echo "fuzz targets: $ran, failed: $failed"
printf '%s' "$summary"
exit $((failed > 0))
