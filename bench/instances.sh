#!/usr/bin/env bash
# EC2 placement through the API, ecsd and moto_server side by side: each
# server gets a cluster with INSTANCES container instances (bench/instances.py;
# moto_server first gets the EC2 instances it requires), then TASKS tasks
# placed with RunTask (10 a call, spread over zones then binpack on memory),
# then DescribeContainerInstances of 10 instances under wrk. Every server
# binds 127.0.0.1 and is stopped on exit; every load has a fixed duration.
#
#   bench/instances.sh
#
# Environment: INSTANCES (100), TASKS (1000), DURATION (10s), THREADS (2),
# CONNS (16).
set -euo pipefail

INSTANCES=${INSTANCES:-100}
TASKS=${TASKS:-1000}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "== $*" >&2; }

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]==5.2.1')" >&2; exit 1; }
for t in curl jq python3 go; do command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }; done

cd "$root"
go build -o "$work/ecsd" ./cmd/ecsd
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() {
	for _ in $(seq 1 3000); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.01
	done
	echo "$1 did not answer" >&2
	return 1
}

port_ecsd=$(free_port)
"$work/ecsd" --listen "127.0.0.1:$port_ecsd" --data-dir "$work/ecsd-data" --log-level warn >"$work/ecsd.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port_ecsd/health"
port_moto=$(free_port)
moto_server -H 127.0.0.1 -p "$port_moto" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port_moto/moto-api/"

log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A setup rps p99
for name in ecsd moto; do
	port_var=port_$name
	port=${!port_var}
	args=()
	[[ $name == moto ]] && args=(--ec2)
	log "$name: $INSTANCES instances, $TASKS tasks"
	setup[$name]=$(python3 "$root/bench/instances.py" "http://127.0.0.1:$port" --instances "$INSTANCES" --tasks "$TASKS" "${args[@]}")
	body=$(jq -c '{cluster: "place", containerInstances: .arns}' <<<"${setup[$name]}")
	line=$(ECS_OP=DescribeContainerInstances ECS_BODY=$body wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency \
		-s "$root/bench/wrk/ecs.lua" "http://127.0.0.1:$port/" | grep '^RESULT' || true)
	rps[$name]=$(tr ' ' '\n' <<<"$line" | sed -n 's/^rps=//p')
	p99[$name]=$(tr ' ' '\n' <<<"$line" | sed -n 's/^p99=//p')
	log "$name: ${line#RESULT }"
done
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

row() { jq -r "$2" <<<"${setup[$1]}"; }
echo "| measure | ecsd | moto_server |"
echo "|---|---|---|"
echo "| RegisterContainerInstance x $INSTANCES (boto3, one after another) | $(row ecsd .register_s) s | $(row moto .register_s) s |"
echo "| RunTask: $TASKS tasks in calls of 10 over $INSTANCES instances | $(row ecsd .place_s) s, $(row ecsd .tasks_placed) placed | $(row moto .place_s) s, $(row moto .tasks_placed) placed |"
echo "| RunTask call (10 tasks) p50 / p99 | $(row ecsd .runtask_p50_ms) / $(row ecsd .runtask_p99_ms) ms | $(row moto .runtask_p50_ms) / $(row moto .runtask_p99_ms) ms |"
echo "| DescribeContainerInstances (10 instances), wrk requests/s / p99 | ${rps[ecsd]} / ${p99[ecsd]} | ${rps[moto]} / ${p99[moto]} |"
