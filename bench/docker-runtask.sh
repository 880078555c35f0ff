#!/usr/bin/env bash
# Docker runtime latency: time from RunTask until DescribeTasks says
# RUNNING and from StopTask until STOPPED, for a FROM-scratch image, and
# the same image run bare on the same Engine in the same run (the Engine
# API calls `docker run -d` and `docker stop` make, and the docker CLI),
# so the difference is ecsd's overhead. ecsd listens on loopback only;
# everything it and the benchmark started is removed at the end.
#
#   bench/docker-runtask.sh [runs]     # default 20
#
# Needs: a local Docker Engine and the docker CLI, go, curl.
set -euo pipefail
runs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
image=ecsd-bench/sleeper:$$
pid=""
cleanup() {
	[[ -n $pid ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	docker ps -aq --filter "label=ecsd.data-dir=$work/data" | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker ps -aq --filter label=ecsd-bench=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker rmi -f "$image" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/ecsd" ./cmd/ecsd
go build -o "$work/bench" ./bench/dockerrun
arch=$(docker version --format '{{.Server.Arch}}')
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o "$work/sleeper" ./bench/dockerrun/sleeper
tar -C "$work" -cf - sleeper | docker import --change 'ENTRYPOINT ["/sleeper"]' - "$image" >/dev/null

echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), Docker Engine $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}') storage), $(date -u +%F)"
echo "command: bench/docker-runtask.sh $runs"

: >"$work/ecsd.log"
"$work/ecsd" --listen 127.0.0.1:0 --data-dir "$work/data" --runtime docker --log-level info 2>"$work/ecsd.log" &
pid=$!
addr=""
for _ in $(seq 1 200); do
	addr=$(sed -n 's/.*msg="ecsd listening" addr=\([0-9.:]*\).*/\1/p' "$work/ecsd.log" | head -n 1)
	[[ -n $addr ]] && break
	sleep 0.05
done
[[ -n $addr ]] || { cat "$work/ecsd.log" >&2; exit 1; }
"$work/bench" -endpoint "http://$addr" -image "$image" -n "$runs"
