#!/usr/bin/env bash
# Scheduler benchmark: N services x M tasks created in a burst, time until
# every service is steady, and DescribeServices latency meanwhile, on ecsd
# (simulated runtime, zero transition delays) and on moto_server side by
# side in one run. Both listen on loopback only and are stopped at the end.
#
#   bench/scheduler.sh [services] [tasks-per-service]
#
# moto never runs tasks; MOTO_ECS_SERVICE_RUNNING makes it report that many
# running tasks per service, which is the closest it comes to "steady".
set -euo pipefail
services=${1:-1000}
tasks=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() {
	for _ in $(seq 1 200); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.05
	done
	echo "$1 did not answer" >&2
	return 1
}

cd "$root"
go build -o "$work/ecsd" ./cmd/ecsd
go build -o "$work/bench" ./bench/scheduler

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), $(date -u +%F)"
echo "command: bench/scheduler.sh $services $tasks"

port=$(free_port)
# The services run EC2 tasks (64 MiB each): 20 simulated c5.large instances hold 1100 of them.
"$work/ecsd" --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn --sim-instances 20 --service-healthy-after 0s &
pids+=($!)
wait_http "http://127.0.0.1:$port/health"
"$work/bench" -label ecsd -endpoint "http://127.0.0.1:$port" -services "$services" -tasks "$tasks"

if command -v moto_server >/dev/null; then
	mport=$(free_port)
	MOTO_ECS_SERVICE_RUNNING=$tasks moto_server -H 127.0.0.1 -p "$mport" >"$work/moto.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$mport/moto-api/"
	"$work/bench" -label moto -endpoint "http://127.0.0.1:$mport" -services "$services" -tasks "$tasks" || echo "moto run failed"
else
	echo "moto_server not installed: skipping the side-by-side run"
fi
