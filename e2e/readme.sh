#!/usr/bin/env bash
# Runs the README's commands as written, the way a new user would: the
# blocks marked `<!-- e2e/readme.sh: NAME -->` (the AWS CLI walkthrough on
# the simulated runtime; the Docker example when a Docker Engine answers),
# each against a fresh data directory. The harness only supplies what the
# README says to set up around them: the AWS CLI environment of "Point your
# tools at it", `ecsd` on PATH, and, through ecsd's own ECSD_* variables, a
# free port, a throwaway data directory and --service-healthy-after 0s (the
# README's 40-second wait would make each `services-stable` a minute).
#
#   e2e/readme.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/readme.sh
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd
mkdir -p "$work/bin"
ln -sf "$ECSD_BIN" "$work/bin/ecsd"
export PATH="$work/bin:$PATH"
export ECSD_SERVICE_HEALTHY_AFTER=0s

# block NAME prints the fenced sh block after the README's marker NAME.
block() {
	awk -v marker="<!-- e2e/readme.sh: $1 -->" '
		$0 == marker { found = 1; next }
		found && /^```sh$/ { inblock = 1; next }
		inblock && /^```$/ { exit }
		inblock { print }
	' "$root/README.md"
}

# free_port prints a loopback port nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_block NAME runs a block in a fresh bash from the checkout's root,
# with the README's environment; background jobs it starts (ecsd) are
# ended with it.
run_block() {
	local name=$1 script
	script=$(block "$name")
	[[ -n $script ]] || fail "README has no block marked $name"
	step "README: $name"
	(cd "$root" && bash -euo pipefail -c 'trap '\''kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true'\'' EXIT
'"$script") >"$work/$name.out" 2>&1 || {
		cat "$work/$name.out" >&2
		fail "the README's $name block failed"
	}
	cat "$work/$name.out"
}

# The walkthrough: "With ecsd running and the environment above".
start_ecsd "$work/walk-data"
export AWS_ENDPOINT_URL_ECS=$endpoint
run_block walkthrough
grep -q '"(service shop) has reached a steady state."' "$work/walkthrough.out" ||
	fail "the walkthrough did not reach a steady state"
grep -q 'TaskDefinition is inactive' "$work/walkthrough.out" ||
	fail "RunTask of the deregistered revision was not refused"
pass "walkthrough as written"
stop_ecsd

if ! docker info >/dev/null 2>&1; then
	printf '\n   skip: no Docker Engine answers; the README Docker example was not run\n'
	exit 0
fi
# The Docker example starts its own ecsd (`ecsd --runtime docker &`).
ECSD_DATA_DIR=$work/docker-data
ECSD_LISTEN=127.0.0.1:$(free_port)
export ECSD_DATA_DIR ECSD_LISTEN AWS_ENDPOINT_URL_ECS=http://$ECSD_LISTEN
remove_site() { docker ps -aq --filter "label=ecsd.data-dir=$ECSD_DATA_DIR" | xargs -r docker rm -f >/dev/null 2>&1 || true; }
trap 'remove_site; cleanup' EXIT
run_block docker
grep -q '{"status":"ok"}' "$work/docker.out" || fail "curl of the service's task did not answer /health"
pass "Docker example as written"
