#!/usr/bin/env bash
# Read the CloudWatch Logs of awslogs containers with the real AWS CLI, the
# way a user would: a task on the simulated runtime writes lines through
# the awslogs driver; `aws logs filter-log-events`, `get-log-events` and
# `aws logs tail --follow` read them from ecsd's listener.
#
#   e2e/awscli-logs.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-logs.sh
#
# Needs: go (unless ECSD_BIN is set), aws, curl, and for `aws logs tail`
# an AWS CLI v2 (`aws` itself, $AWS_CLI_V2, or Debian's /usr/bin/aws from
# the awscli package). Without one the tail step is skipped, except under
# CI=true, where it fails. Every step is printed; the script stops at the
# first mismatch and exits non-zero.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

logs() { aws logs --endpoint-url "$endpoint" "$@"; }

step "start ecsd"
start_ecsd "$work/data" --create-default-cluster --sim-instances 1

step "a task whose container logs through awslogs"
cat >"$work/td.json" <<'JSON'
{
  "family": "cli-logger",
  "containerDefinitions": [{
    "name": "app", "image": "busybox:1.36", "memory": 64, "essential": true,
    "environment": [
      {"name": "ECSD_SIM_LOG", "value": "GET /index.html 200\\nGET /missing 404 request {n}"},
      {"name": "ECSD_SIM_LOG_EVERY", "value": "0.2"}
    ],
    "logConfiguration": {"logDriver": "awslogs", "options": {
      "awslogs-group": "/ecs/cli", "awslogs-region": "us-east-1",
      "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}
  }]
}
JSON
ecs register-task-definition --cli-input-json "file://$work/td.json" >/dev/null
task=$(ecs run-task --task-definition cli-logger --query 'tasks[0].taskArn' --output text)
id=${task##*/}
stream="web/app/$id"
pass "task $id"

step "the group and stream ECS names"
deadline=$((SECONDS + 20))
until [[ $(logs describe-log-streams --log-group-name /ecs/cli --query 'logStreams[0].logStreamName' --output text 2>/dev/null) == "$stream" ]]; do
	((SECONDS <= deadline)) || fail "stream $stream never appeared"
	sleep 0.2
done
pass "describe-log-streams /ecs/cli -> $stream"
expect "describe-log-groups" "/ecs/cli" "$(logs describe-log-groups --log-group-name-prefix /ecs/ --query 'logGroups[].logGroupName' --output text)"

step "filter-log-events: a term and a quoted phrase"
until (($(logs filter-log-events --log-group-name /ecs/cli --filter-pattern 404 --query 'length(events)' --output text) >= 3)); do
	((SECONDS <= deadline)) || fail "fewer than 3 404 lines"
	sleep 0.2
done
expect "first 404 line" "GET /missing 404 request 1" \
	"$(logs filter-log-events --log-group-name /ecs/cli --filter-pattern 404 --query 'events[0].message' --output text)"
expect "phrase \"request 3\"" "GET /missing 404 request 3	$stream" \
	"$(logs filter-log-events --log-group-name /ecs/cli --filter-pattern '"request 3"' --query 'events[0].[message, logStreamName]' --output text)"
expect "exclusion" "0" \
	"$(logs filter-log-events --log-group-name /ecs/cli --filter-pattern '200 -index' --query 'length(events)' --output text)"

step "get-log-events from the head"
expect "first two lines" "GET /index.html 200	GET /missing 404 request 1" \
	"$(logs get-log-events --log-group-name /ecs/cli --log-stream-name "$stream" --start-from-head --limit 2 --query 'events[].message' --output text)"

step "errors as CloudWatch Logs words them"
set +e
out=$(logs create-log-group --log-group-name /ecs/cli 2>&1)
set -e
[[ $out == *"(ResourceAlreadyExistsException) when calling the CreateLogGroup operation"*": The specified log group already exists" ]] ||
	fail "create-log-group twice: $out"
pass "create-log-group twice -> ResourceAlreadyExistsException"
set +e
out=$(logs filter-log-events --log-group-name /ecs/none 2>&1)
set -e
[[ $out == *"(ResourceNotFoundException) when calling the FilterLogEvents operation"*": The specified log group does not exist." ]] ||
	fail "filter-log-events on a missing group: $out"
pass "filter-log-events on a missing group -> ResourceNotFoundException"

step "aws logs tail --follow"
aws2=""
for cand in "${AWS_CLI_V2:-}" aws /usr/bin/aws /usr/local/bin/aws; do
	[[ -n $cand ]] || continue
	if "$cand" --version 2>&1 | grep -q '^aws-cli/2'; then
		aws2=$cand
		break
	fi
done
if [[ -z $aws2 ]]; then
	[[ ${CI:-} != true ]] || fail "no AWS CLI v2 for aws logs tail (CI installs Debian's awscli)"
	printf '   SKIP: no AWS CLI v2 (aws logs tail is v2 only); set AWS_CLI_V2 or install Debian awscli\n'
else
	# Lines written after tail starts must arrive through its polling.
	before=$(logs filter-log-events --log-group-name /ecs/cli --filter-pattern 404 --query 'length(events)' --output text)
	want=$((2 * before + 11)) # 404 lines are the odd ones
	timeout 60 "$aws2" logs tail /ecs/cli --follow --since 1h --format short --endpoint-url "$endpoint" >"$work/tail.out" 2>"$work/tail.err" &
	tail_pid=$!
	deadline=$((SECONDS + 45))
	until grep -q "request $want\$" "$work/tail.out"; do
		if ((SECONDS > deadline)) || ! kill -0 "$tail_pid" 2>/dev/null; then
			cat "$work/tail.err" >&2
			fail "aws logs tail --follow never printed 'request $want' (has $(wc -l <"$work/tail.out") lines)"
		fi
		sleep 0.2
	done
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	pass "$("$aws2" --version 2>&1 | cut -d' ' -f1) logs tail --follow printed 'request $want', written after it started"
	expect "numbered lines printed twice" "0" "$(grep -o "request [0-9]*$" "$work/tail.out" | sort | uniq -d | wc -l)"
fi

step "stop the task; the stream keeps its lines"
ecs stop-task --task "$task" >/dev/null
expect "delete-log-group" "" "$(logs delete-log-group --log-group-name /ecs/cli --output text)"
set +e
out=$(logs get-log-events --log-group-name /ecs/cli --log-stream-name "$stream" 2>&1)
set -e
[[ $out == *"ResourceNotFoundException"*"The specified log group does not exist."* ]] || fail "after delete: $out"
pass "get-log-events after delete-log-group -> ResourceNotFoundException"

stop_ecsd
printf '\nPASS awscli-logs.sh\n'
