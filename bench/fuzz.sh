#!/usr/bin/env bash
# Runs every fuzz target in the repository for a fixed time each.
# Usage: bench/fuzz.sh [TIME] [TARGET-REGEXP]   (TIME defaults to 60s; .ci/run uses 5s)
# Targets are found, not listed: every `func FuzzX(f *testing.F)` in a _test.go
# file. A failure leaves its input under the package's testdata/fuzz/FuzzX/;
# commit it with the fix so that every later `go test` replays it.
#
# Each package's coverage-instrumented test binary is built once
# (`go test -c -fuzz .`) and run for each of its targets, as `go test -fuzz`
# would run it (in the package's folder, with the same fuzz cache): one
# build and link per package rather than per target, which was most of the
# 5s CI stage's time (the e2e package's binary alone links for a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
only=${2:-.}
failed=0
ran=0
summary=""
root=$(pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
gocache=$(go env GOCACHE)
module=$(go list -m)
built=""
while IFS=: read -r file name; do
  [[ "$name" =~ $only ]] || continue
  dir=$(dirname "$file")
  pkg=./$dir
  exe="$bin/$(echo "$dir" | tr / _).test"
  start=$(date +%s)
  if [[ " $built " != *" $dir "* ]]; then
    echo "== building $pkg for fuzzing"
    if ! go test -c -fuzz . -o "$exe" "$pkg"; then
      echo "build of $pkg failed" >&2
      exit 1
    fi
    built+=" $dir"
  fi
  echo "== $name in $pkg for $fuzztime"
  # -parallel 2: the machine has 2 cores; more workers only contend.
  if out=$(cd "$root/$dir" && "$exe" -test.paniconexit0 -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$fuzztime" \
    -test.parallel 2 -test.fuzzcachedir "$gocache/fuzz/$module/$dir" 2>&1); then
    status=ok
  else
    status=FAIL
    failed=$((failed + 1))
  fi
  echo "$out" | tail -n 4
  execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -n 1 | cut -d' ' -f2 || true) # none when the time ran out gathering the baseline
  summary+=$(printf '%-22s %-20s %4s  %10s execs  %4ss\n' "$name" "$pkg" "$status" "${execs:-?}" "$(( $(date +%s) - start ))")$'\n'
  ran=$((ran + 1))
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' internal cmd 2>/dev/null | sed 's/($//; s/:func /:/' | sort)
echo
echo "fuzz targets: $ran, failed: $failed"
printf '%s' "$summary"
exit $((failed > 0))
