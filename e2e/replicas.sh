#!/usr/bin/env bash
# Three ecsd replicas on one PostgreSQL database, driven by the AWS CLI the
# way a user would: register a task definition through one replica,
# describe it through another, create a service through the third; then
# SIGKILL the replica holding the leader lease and check that another takes
# over and keeps the service's tasks running (the simulated runtime's
# containers are in the shared database, docs/architecture.md).
#
#   e2e/replicas.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/replicas.sh
#
# Needs: PostgreSQL's server binaries (initdb, pg_ctl; PG_BIN, else found
# under /usr/lib/postgresql/*/bin), go, aws (v1 or v2), curl, python3 (for
# a free port). As root the database server runs as the postgres user.
# Everything runs on loopback in throwaway directories, removed on exit,
# with the database server and every replica stopped, even on failure.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pg_dir=""
pids=()
endpoints=()

stop_all() {
	local pid
	for pid in "${pids[@]}"; do
		[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		[[ -n $pid ]] && wait "$pid" 2>/dev/null || true
	done
	if [[ -n $pg_dir && -f $pg_dir/data/postmaster.pid ]]; then
		as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[[ -n $pg_dir ]] && rm -rf "$pg_dir"
	cleanup
}
trap stop_all EXIT
# A test harness's SIGTERM (its timeout) must clean up too.
trap 'exit 143' TERM INT HUP

# as_pg runs a command as the user that owns the database server.
as_pg() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

fail_logs() {
	local i
	for i in 0 1 2; do
		if [[ -f $work/ecsd-$i.log ]]; then
			printf '   --- replica %d log (last 10 lines) ---\n' "$i" >&2
			tail -n 10 "$work/ecsd-$i.log" >&2
		fi
	done
	fail "$@"
}

build_ecsd

step "start a throwaway PostgreSQL"
if [[ -z ${PG_BIN:-} ]]; then
	if command -v initdb >/dev/null; then
		PG_BIN=$(dirname "$(command -v initdb)")
	else
		PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	fi
fi
[[ -x ${PG_BIN:-}/initdb ]] || fail "no PostgreSQL server binaries (set PG_BIN to the directory holding initdb)"
# Not under $work: the postgres user must reach it.
pg_dir=$(mktemp -d /tmp/ecsd-replicas-pg-XXXXXX)
[[ $(id -u) == 0 ]] && chown postgres "$pg_dir"
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PG_BIN/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log" >&2; fail "initdb"; }
as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
	-o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
	{ cat "$pg_dir/server.log" >&2; fail "pg_ctl start"; }
database=postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable
pass "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

step "start three ecsd replicas on it"
start_replica() { # start_replica I
	local i=$1 addr="" deadline=$((SECONDS + 15))
	: >"$work/ecsd-$i.log"
	"$ECSD_BIN" --listen 127.0.0.1:0 --data-dir "$work/data-$i" --database "$database" --log-level info \
		--create-default-cluster --deletion-delay 1h --service-healthy-after 0s 2>>"$work/ecsd-$i.log" &
	pids[i]=$!
	while [[ -z $addr ]]; do
		if ((SECONDS > deadline)) || ! kill -0 "${pids[i]}" 2>/dev/null; then
			fail_logs "replica $i did not start"
		fi
		addr=$(sed -n 's/.*msg="ecsd listening" addr=\([0-9.:]*\).*/\1/p' "$work/ecsd-$i.log" | head -n 1)
		[[ -n $addr ]] || sleep 0.05
	done
	endpoints[i]="http://$addr"
	until curl -fsS "${endpoints[i]}/ready" >/dev/null 2>&1; do
		((SECONDS <= deadline)) || fail_logs "replica $i at ${endpoints[i]} never became ready"
		sleep 0.05
	done
	pass "replica $i (pid ${pids[i]}) ready on ${endpoints[i]}"
}
for i in 0 1 2; do start_replica "$i"; done

# on I ARGS... runs one ECS command against replica I.
on() {
	local i=$1
	shift
	aws ecs --endpoint-url "${endpoints[i]}" "$@"
}

# leader [EXCEPT] prints the index of the replica that reports holding the
# leader lease, waiting up to 15s for exactly one (other than EXCEPT).
leader() {
	local except=${1:-} deadline=$((SECONDS + 15)) i found
	while :; do
		found=()
		for i in 0 1 2; do
			[[ $i == "$except" ]] && continue
			if curl -fsS "${endpoints[i]}/health" 2>/dev/null | grep -q '"leader":true'; then
				found+=("$i")
			fi
		done
		if ((${#found[@]} == 1)); then
			echo "${found[0]}"
			return
		fi
		((SECONDS <= deadline)) || fail_logs "want one leader, ${#found[@]} replicas report leading"
		sleep 0.05
	done
}
lead=$(leader)
pass "replica $lead holds the leader lease"

step "register on one replica, describe on another, create a service on the third"
expect "register web:1 on replica 0" "arn:aws:ecs:us-east-1:$account:task-definition/web:1" \
	"$(on 0 register-task-definition --family web --requires-compatibilities FARGATE --network-mode awsvpc \
		--cpu 256 --memory 512 --container-definitions '[{"name":"app","image":"nginx:1.27"}]' \
		--query taskDefinition.taskDefinitionArn --output text)"
expect "describe web on replica 1" "web	1	ACTIVE" \
	"$(on 1 describe-task-definition --task-definition web --query 'taskDefinition.[family,revision,status]' --output text)"
net='awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],securityGroups=[sg-0123456789abcdef0]}'
expect "create-service on replica 2" "ACTIVE" "$(on 2 create-service --service-name web --task-definition web:1 \
	--desired-count 2 --launch-type FARGATE --network-configuration "$net" --query service.status --output text)"

# converged I N waits until replica I reports service web running N tasks.
converged() {
	local i=$1 n=$2 deadline=$((SECONDS + 20)) got=""
	while :; do
		got=$(on "$i" describe-services --services web --query 'services[0].[runningCount,desiredCount]' --output text 2>&1 || true)
		[[ $got == "$n	$n" ]] && break
		((SECONDS <= deadline)) || fail_logs "service web on replica $i: running/desired $got, want $n/$n"
		sleep 0.1
	done
	pass "replica $i: service web runs $n of $n"
}
converged 1 2
before=$(on 0 list-tasks --service-name web --desired-status RUNNING --query 'sort(taskArns)' --output text)
expect "tasks every replica lists" "$before" "$(on 2 list-tasks --service-name web --desired-status RUNNING --query 'sort(taskArns)' --output text)"

step "SIGKILL the leader (replica $lead): another takes over"
killed_at=$SECONDS
kill -KILL "${pids[lead]}"
wait "${pids[lead]}" 2>/dev/null || true
pids[lead]=""
next=$(leader "$lead")
pass "replica $next leads now"
others=()
for i in 0 1 2; do [[ $i != "$lead" ]] && others+=("$i"); done

step "the new leader keeps the service's tasks"
# The simulated runtime's containers live in the database: the new leader
# finds the old leader's tasks running and supervises them; none is
# stopped or replaced. Watch a few of its supervisor passes.
deadline=$((SECONDS + 3))
while ((SECONDS < deadline)); do
	after=$(on "${others[0]}" list-tasks --service-name web --desired-status RUNNING --query 'sort(taskArns)' --output text)
	[[ $after == "$before" ]] || fail_logs "after the failover: tasks [$after], before [$before]"
	stopped=$(on "${others[0]}" list-tasks --service-name web --desired-status STOPPED --query 'length(taskArns)' --output text)
	[[ $stopped == 0 ]] || fail_logs "after the failover: $stopped tasks stopped"
	sleep 0.2
done
pass "the same 2 tasks run, $((SECONDS - killed_at))s after the kill"
converged "${others[0]}" 2
expect "update-service to 3 on replica ${others[1]}" "3" "$(on "${others[1]}" update-service --service web \
	--desired-count 3 --query service.desiredCount --output text)"
converged "${others[0]}" 3
expect "web:1 still described on replica ${others[1]}" "1" \
	"$(on "${others[1]}" describe-task-definition --task-definition web --query taskDefinition.revision --output text)"

step "done"
pass "three replicas, one failover"
