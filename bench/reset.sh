#!/usr/bin/env bash
# POST /moto-api/reset with thousands of tasks: how long the reply takes
# on the simulated runtime (the store is cleared in one transaction; on the
# Docker runtime the containers are removed in the background after the
# reply, so the reply time is the same).
#
#   bench/reset.sh [tasks]     # default 3000 (RunTask count 10 per call)
#
# Needs: go, curl, bc. EC2 tasks on 20 simulated instances (16 MiB each).
set -euo pipefail
tasks=${1:-3000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
	[[ -n $pid ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT
cd "$root"
go build -o "$work/ecsd" ./cmd/ecsd
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(go version | cut -d' ' -f3), $(date -u +%F)"
echo "command: bench/reset.sh $tasks"
"$work/ecsd" --listen 127.0.0.1:0 --data-dir "$work/data" --enable-reset --sim-instances 20 --log-level info 2>"$work/ecsd.log" &
pid=$!
addr=""
for _ in $(seq 200); do
	addr=$(sed -n 's/.*msg="ecsd listening" addr=\([0-9.:]*\).*/\1/p' "$work/ecsd.log" | head -n 1)
	[[ -n $addr ]] && break
	sleep 0.05
done
[[ -n $addr ]] || { echo "ecsd did not start" >&2; exit 1; }
call() {
	curl -fsS -o /dev/null -H 'Content-Type: application/x-amz-json-1.1' \
		-H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" -d "$2" "http://$addr/"
}
call CreateCluster '{}'
call RegisterTaskDefinition '{"family":"r","containerDefinitions":[{"name":"c","image":"i","memory":16,"environment":[{"name":"ECSD_SIM_RUN_SECONDS","value":"3600"}]}]}'
for _ in $(seq $((tasks / 10))); do
	call RunTask '{"taskDefinition":"r","count":10}'
done
start=$(date +%s.%N)
curl -fsS -o /dev/null -X POST "http://$addr/moto-api/reset"
end=$(date +%s.%N)
printf 'reset with %d tasks answered in %.3f s\n' "$tasks" "$(echo "$end - $start" | bc)"
