# Shared harness for the AWS CLI scripts under e2e/: step/pass/fail output,
# an `ecs` command bound to the running ecsd, exact error checks, and
# starting/stopping ecsd on a free loopback port. Source it after `set -euo
# pipefail`; it defines $root and $work and removes $work on exit.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
ecsd_pid=""

cleanup() {
	if [[ -n $ecsd_pid ]]; then
		kill "$ecsd_pid" 2>/dev/null || true
		wait "$ecsd_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
pass() { printf '   ok: %s\n' "$*"; }
fail() {
	printf '   FAIL: %s\n' "$*" >&2
	if [[ -f $work/ecsd.log ]]; then
		printf '   --- ecsd log (last 20 lines) ---\n' >&2
		tail -n 20 "$work/ecsd.log" >&2
	fi
	exit 1
}

# expect DESCRIPTION WANT GOT
expect() {
	if [[ $3 == "$2" ]]; then
		pass "$1 = $2"
	else
		fail "$1: want [$2], got [$3]"
	fi
}

# The AWS CLI must talk to ecsd and nothing else: no profiles, no instance
# metadata, no retries hiding a failure.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECS AWS_REGION
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
# A key that is not a 12-digit account id maps to ecsd's default account.
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
account=000000000000

# ecs ARGS... runs one ECS command against ecsd.
ecs() { aws ecs --endpoint-url "$endpoint" "$@"; }

# expect_error CODE MESSAGE ARGS... runs an ECS command that must fail with
# exactly this error code and message.
expect_error() {
	local code=$1 msg=$2 out rc
	shift 2
	set +e
	out=$(ecs "$@" 2>&1)
	rc=$?
	set -e
	if [[ $rc -eq 0 ]]; then
		fail "aws ecs $1 succeeded, want $code: $out"
	fi
	local want="An error occurred ($code) when calling the "
	if [[ $out != *"$want"*": $msg"* ]]; then
		fail "aws ecs $1: want '$code: $msg' (exit != 0), got exit $rc: $out"
	fi
	pass "aws ecs $1 -> exit $rc, $code: $msg"
}

# start_ecsd DATA_DIR [FLAGS...] starts ecsd on a free port chosen by the
# kernel and waits until /health answers. Tasks count healthy at once
# (--service-healthy-after 0s; ecsd waits 40s as ECS does): the scripts test
# the API, not the wait.
start_ecsd() {
	local dir=$1
	shift
	: >"$work/ecsd.log"
	"$ECSD_BIN" --listen 127.0.0.1:0 --data-dir "$dir" --log-level info --deletion-delay 1h --service-healthy-after 0s "$@" \
		2>>"$work/ecsd.log" &
	ecsd_pid=$!
	local addr="" deadline=$((SECONDS + 15))
	while [[ -z $addr ]]; do
		if ((SECONDS > deadline)) || ! kill -0 "$ecsd_pid" 2>/dev/null; then
			fail "ecsd did not start"
		fi
		addr=$(sed -n 's/.*msg="ecsd listening" addr=\([0-9.:]*\).*/\1/p' "$work/ecsd.log" | head -n 1)
		[[ -n $addr ]] || sleep 0.05
	done
	endpoint="http://$addr"
	until curl -fsS "$endpoint/health" >/dev/null 2>&1; do
		((SECONDS <= deadline)) || fail "ecsd at $endpoint never became healthy"
		sleep 0.05
	done
	pass "ecsd $ecsd_pid listening on $endpoint"
}

stop_ecsd() {
	kill -TERM "$ecsd_pid"
	wait "$ecsd_pid" || fail "ecsd exited with status $?"
	ecsd_pid=""
}


# build_ecsd builds ecsd from this checkout unless ECSD_BIN names a binary.
build_ecsd() {
	step "build ecsd"
	if [[ -z ${ECSD_BIN:-} ]]; then
		(cd "$root" && go build -o "$work/ecsd" ./cmd/ecsd)
		ECSD_BIN=$work/ecsd
	fi
	pass "using $ECSD_BIN; $(aws --version 2>&1)"
}
