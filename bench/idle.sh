#!/usr/bin/env bash
# Idle cost of live tasks: N tasks RUNNING on the simulated runtime (zero
# transition delays), then ecsd's CPU use over a minute in which nobody
# calls it and its live Go heap, against the same figures before the first
# task. ecsd listens on loopback only and is stopped at the end.
#
#   bench/idle.sh [tasks] [extra ecsd flags...]
#
# WINDOW (default 11m) is how long idle CPU is measured: long enough to
# hold one of the task supervisor's 10-minute resyncs and reaps, so the
# figure is the average an idle ecsd pays, not a quiet minute's.
set -euo pipefail
tasks=${1:-100000}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cd "$root"
go build -o "$work/ecsd" ./cmd/ecsd
go build -o "$work/bench" ./bench/idle

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), $(date -u '+%F %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: WINDOW=${WINDOW:-11m} bench/idle.sh $tasks $*"

port=$(free_port)
pport=$(free_port)
"$work/ecsd" --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn --pprof "127.0.0.1:$pport" "$@" &
pid=$!
for _ in $(seq 1 200); do
	curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
	sleep 0.05
done
"$work/bench" -endpoint "http://127.0.0.1:$port" -pprof "http://127.0.0.1:$pport" -pid "$pid" -tasks "$tasks" -window "${WINDOW:-11m}"
echo "ecsd RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status), load $(cut -d' ' -f1-3 /proc/loadavg)"
