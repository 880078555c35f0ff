#!/usr/bin/env bash
# Metrics scrape cost: GET /metrics on an empty ecsd, then with N tasks
# RUNNING on the simulated runtime (zero transition delays), scraped one
# after another as Prometheus does. ecsd listens on loopback only and is
# stopped at the end.
#
#   bench/metrics.sh [tasks] [scrapes]
set -euo pipefail
tasks=${1:-10000}
scrapes=${2:-200}
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
go build -o "$work/bench" ./bench/metrics

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), $(date -u '+%F %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/metrics.sh $tasks $scrapes"

port=$(free_port)
"$work/ecsd" --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn &
pid=$!
for _ in $(seq 1 200); do
	curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
	sleep 0.05
done
"$work/bench" -endpoint "http://127.0.0.1:$port" -tasks "$tasks" -scrapes "$scrapes"
echo "ecsd RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
