#!/usr/bin/env bash
# The issue-6 benchmarks in one run: ecsd, moto_server and a trivial Go
# net/http JSON handler (bench/ceiling, the practical ceiling of the
# machine) on loopback ports, loaded with the same data and driven with the
# same wrk load, one after the other; then the 1,000-vs-1,000,000-revision
# listing, start-up and memory figures, and the scheduler burst. Prints one
# table with absolute figures and ratios. Every server binds 127.0.0.1 and
# is stopped on exit; every run has a fixed duration.
#
#   bench/run.sh            # everything (about 15 minutes, plus the 1M load once)
#   BENCH_PHASES="api" bench/run.sh   # a subset: api big startup scheduler
#
# Environment:
#   DURATION (10s), THREADS (2), CONNS (16)   wrk's -d, -t and -c
#   BENCH_CACHE (~/.cache/ecsd-bench)   where the 1,000,000-revision data dir is
#                                       kept between runs (built by bench/load)
#   BENCH_RELOAD=1                      rebuild it
#   SCHED_SERVICES (1000), SCHED_TASKS (5)
#   STARTUP_RUNS (10)
#   BENCH_CALM=1   first wait (up to 15 minutes) for a 1-minute load average
#                  below 1.5, the machine being shared
#   BENCH_OUT      also write the table to this file
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
PHASES=${BENCH_PHASES:-api big startup scheduler}
CACHE=${BENCH_CACHE:-$HOME/.cache/ecsd-bench}
SCHED_SERVICES=${SCHED_SERVICES:-1000}
SCHED_TASKS=${SCHED_TASKS:-5}
STARTUP_RUNS=${STARTUP_RUNS:-10}
BIG_FAMILIES=1000
BIG_REVISIONS=1000

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
log() { echo "== $*" >&2; }

# --- tools -----------------------------------------------------------------
if ! command -v wrk >/dev/null; then
	log "installing wrk"
	apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]==5.2.1')" >&2; exit 1; }
for t in curl jq python3 go; do command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }; done

if [[ "${BENCH_CALM:-}" == 1 ]]; then
	for _ in $(seq 1 90); do
		awk '{exit !($1 < 1.5)}' /proc/loadavg && break
		log "waiting for a calm machine: load $(cut -d' ' -f1-3 /proc/loadavg)"
		sleep 10
	done
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

cd "$root"
log "building"
go build -o "$work/ecsd" ./cmd/ecsd
go build -o "$work/ceiling" ./bench/ceiling
go build -o "$work/load" ./bench/load
go build -o "$work/scheduler" ./bench/scheduler

# --- helpers ---------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # url [tries of 10 ms]
	for _ in $(seq 1 "${2:-1000}"); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.01
	done
	echo "$1 did not answer" >&2
	return 1
}
AUTH='AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7'
call() { # port op json -> response body; fails on a non-200
	curl -sf -X POST "http://127.0.0.1:$1/" -H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$2" \
		-H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Date: 20260101T000000Z' -H "Authorization: $AUTH" -d "$3"
}
# start_ecsd NAME DATADIR [args]: sets port_NAME, pprof_NAME, pid_NAME
start_ecsd() {
	local name=$1 dir=$2 port pprof
	shift 2
	port=$(free_port)
	pprof=$(free_port)
	"$work/ecsd" --listen "127.0.0.1:$port" --pprof "127.0.0.1:$pprof" --data-dir "$dir" --log-level warn --service-healthy-after 0s "$@" \
		>"$work/$name.log" 2>&1 &
	pids+=($!)
	printf -v "pid_$name" %s $!
	printf -v "port_$name" %s "$port"
	printf -v "pprof_$name" %s "$pprof"
	wait_http "http://127.0.0.1:$port/health"
}
stop() { # pid: stops it and forgets it, so the exit trap never signals a reused pid
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	pids=("${keep[@]}")
}
start_moto() { # NAME [env...]: sets port_NAME, pid_NAME
	local name=$1 port
	shift
	port=$(free_port)
	env "$@" moto_server -H 127.0.0.1 -p "$port" >"$work/$name.log" 2>&1 &
	pids+=($!)
	printf -v "pid_$name" %s $!
	printf -v "port_$name" %s "$port"
	wait_http "http://127.0.0.1:$port/moto-api/" 3000
}
# wrkrun KEY PORT OP BODY: one wrk run; its RESULT line goes to $work/res/KEY
mkdir -p "$work/res"
wrkrun() {
	local key=$1 port=$2 op=$3 body=$4 line
	line=$(ECS_OP=$op ECS_BODY=$body wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency \
		-s "$root/bench/wrk/ecs.lua" "http://127.0.0.1:$port/" | grep '^RESULT' || true)
	[[ -n "$line" ]] || line="RESULT rps=0 p50=0 p90=0 p99=0 max=0 requests=0 non2xx=0 errors=1"
	echo "$line" >"$work/res/$key"
	log "$key: ${line#RESULT }"
}
field() { # KEY NAME -> value from the RESULT line
	[[ -f "$work/res/$1" ]] || { echo "-"; return; }
	tr ' ' '\n' <"$work/res/$1" | sed -n "s/^$2=//p"
}
vars() { curl -s "http://127.0.0.1:$1/debug/vars"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.1fx", a / b; else printf "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.0f%%", 100 * a / b; else printf "-" }'; }

rows=()
row() {
	local out="|"
	for c in "$@"; do out+=" $c |"; done
	rows+=("$out")
}

# --- machine ---------------------------------------------------------------
wrkv=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true) # wrk -v exits 1
machine="$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r), $(go version | cut -d' ' -f3), moto $(python3 -c 'import moto; print(moto.__version__)'), $wrkv"
log "$machine"

# --- api: ecsd vs moto_server vs the ceiling, same requests ------------------
if has_phase api; then
	log "api: starting ecsd (fresh data dir), moto_server and the ceiling"
	start_ecsd api "$work/data-api"
	start_moto moto
	cport=$(free_port)
	"$work/ceiling" -listen "127.0.0.1:$cport" &
	pids+=($!)
	wait_http "http://127.0.0.1:$cport/"

	# moto refuses awsvpc tasks on subnets and security groups its EC2 does
	# not know; ecsd accepts any well-formed id. Both get moto's defaults.
	ec2auth='AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00'
	subnet=$(curl -s "http://127.0.0.1:$port_moto/" -H "Authorization: $ec2auth" -d 'Action=DescribeSubnets&Version=2016-11-15' |
		grep -o '<subnetId>[^<]*' | head -1 | cut -d'>' -f2)
	sg=$(curl -s "http://127.0.0.1:$port_moto/" -H "Authorization: $ec2auth" -d 'Action=DescribeSecurityGroups&Version=2016-11-15' |
		grep -o '<groupId>[^<]*' | head -1 | cut -d'>' -f2)
	TD=$("$work/load" -definition bench)
	RUN='{"cluster":"bench","taskDefinition":"bench:1","launchType":"FARGATE","count":COUNT,"networkConfiguration":{"awsvpcConfiguration":{"subnets":["'$subnet'"],"securityGroups":["'$sg'"]}}}'
	for s in api moto; do
		p=port_$s
		p=${!p}
		call "$p" RegisterTaskDefinition "$TD" >/dev/null
		call "$p" CreateCluster '{"clusterName":"bench"}' >/dev/null
		call "$p" RunTask "${RUN/COUNT/10}" >"$work/tasks-$s.json"
		jq -c '{cluster: "bench", tasks: [.tasks[].taskArn]}' "$work/tasks-$s.json" >"$work/describe-tasks-$s.json"
		[[ $(jq '.tasks | length' "$work/describe-tasks-$s.json") == 10 ]] || { echo "$s: RunTask did not start 10 tasks" >&2; exit 1; }
	done

	DESCRIBE='{"taskDefinition":"bench:1"}'
	log "api: DescribeTaskDefinition"
	wrkrun describe-ceiling "$cport" DescribeTaskDefinition "$DESCRIBE"
	wrkrun describe-ecsd "$port_api" DescribeTaskDefinition "$DESCRIBE"
	wrkrun describe-moto "$port_moto" DescribeTaskDefinition "$DESCRIBE"
	log "api: DescribeTasks (10 tasks per call)"
	wrkrun dtasks-ecsd "$port_api" DescribeTasks "$(cat "$work/describe-tasks-api.json")"
	wrkrun dtasks-moto "$port_moto" DescribeTasks "$(cat "$work/describe-tasks-moto.json")"
	log "api: RegisterTaskDefinition (durable)"
	before=$(vars "$pprof_api" | jq -c .store)
	wrkrun register-ecsd "$port_api" RegisterTaskDefinition "$TD"
	after=$(vars "$pprof_api" | jq -c .store)
	writes_per_commit=$(jq -n --argjson a "$before" --argjson b "$after" \
		'(($b.Writes - $a.Writes) / ([($b.Commits - $a.Commits), 1] | max)) * 10 | round / 10')
	wrkrun register-moto "$port_moto" RegisterTaskDefinition "$TD"
	log "api: RunTask (one task per call, simulated runtime)"
	wrkrun runtask-ecsd "$port_api" RunTask "${RUN/COUNT/1}"
	wrkrun runtask-moto "$port_moto" RunTask "${RUN/COUNT/1}"
	api_rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid_api/status")
	stop "$pid_api"
	stop "$pid_moto"

	c=$(field describe-ceiling rps)
	for b in describe dtasks register runtask; do
		e=$(field "$b-ecsd" rps)
		m=$(field "$b-moto" rps)
		case $b in
		describe) name="DescribeTaskDefinition" target=">= 50x moto, >= 50% of ceiling" ;;
		dtasks) name="DescribeTasks (10 tasks)" target="" ;;
		register) name="RegisterTaskDefinition, durable ($writes_per_commit writes/commit)" target=">= 10x moto" ;;
		runtask) name="RunTask (1 task, simulated runtime)" target="" ;;
		esac
		cc="" cr=""
		[[ $b == describe ]] && cc="$c" && cr=$(pct "$e" "$c")
		row "$name" "$e / $(field "$b-ecsd" p99) ms" "$m / $(field "$b-moto" p99) ms" "$cc" "$(ratio "$e" "$m")" "$cr" "$target"
		for s in ecsd moto; do
			n=$(field "$b-$s" non2xx)
			x=$(field "$b-$s" errors)
			[[ "$n$x" == 00 ]] || echo "warning: $b-$s: $n non-2xx answers, $x socket errors" >&2
		done
	done
	row "ecsd peak RSS after the runs above" "$api_rss MB" "" "" "" "" ""
fi

# --- big: one page of a listing, 1,000 vs 1,000,000 stored revisions --------
if has_phase big || has_phase startup; then
	big="$CACHE/td-${BIG_FAMILIES}x${BIG_REVISIONS}"
	if [[ "${BENCH_RELOAD:-}" == 1 || ! -f "$big/loaded" ]]; then
		log "loading $((BIG_FAMILIES * BIG_REVISIONS)) revisions into $big (once; minutes)"
		rm -rf "$big"
		"$work/load" -data-dir "$big" -families "$BIG_FAMILIES" -revisions "$BIG_REVISIONS" >"$work/load-big.txt"
		cat "$work/load-big.txt" >"$big/loaded"
	fi
fi
if has_phase big; then
	# The small set has the same shapes: fam-00000 holds a full page of
	# revisions (901) and there are 100 families, so both pages are full.
	"$work/load" -data-dir "$work/data-small" -families 100 -revisions 1 -hot 901 >/dev/null
	LIST='{"familyPrefix":"fam-00000","maxResults":100}'
	FAMS='{"familyPrefix":"fam-","maxResults":100}'
	DESCRIBE_BIG='{"taskDefinition":"fam-00000:500"}'
	log "big: 1,000 revisions"
	start_ecsd small "$work/data-small"
	wrkrun list-small "$port_small" ListTaskDefinitions "$LIST"
	wrkrun fams-small "$port_small" ListTaskDefinitionFamilies "$FAMS"
	wrkrun dbig-small "$port_small" DescribeTaskDefinition "$DESCRIBE_BIG"
	stop "$pid_small"
	log "big: 1,000,000 revisions"
	start_ecsd big "$big"
	wrkrun list-big "$port_big" ListTaskDefinitions "$LIST"
	wrkrun fams-big "$port_big" ListTaskDefinitionFamilies "$FAMS"
	wrkrun dbig-big "$port_big" DescribeTaskDefinition "$DESCRIBE_BIG"
	big_hwm=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid_big/status")
	big_rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid_big/status")
	big_heap=$(vars "$pprof_big" | jq '.memstats.HeapSys / 1048576 | round')
	stop "$pid_big"
	log "big: moto_server with the 1,000"
	start_moto motolist
	"$work/load" -endpoint "http://127.0.0.1:$port_motolist" -families 100 -revisions 1 -hot 901 -c 8 >/dev/null
	wrkrun list-moto "$port_motolist" ListTaskDefinitions "$LIST"
	wrkrun fams-moto "$port_motolist" ListTaskDefinitionFamilies "$FAMS"
	stop "$pid_motolist"
	for b in list fams dbig; do
		case $b in
		list) name="ListTaskDefinitions (familyPrefix, maxResults 100)" ;;
		fams) name="ListTaskDefinitionFamilies (familyPrefix, maxResults 100)" ;;
		dbig) name="DescribeTaskDefinition" ;;
		esac
		s99=$(field "$b-small" p99)
		l99=$(field "$b-big" p99)
		m="-"
		[[ -f "$work/res/$b-moto" ]] && m="$(field "$b-moto" rps) / $(field "$b-moto" p99) ms"
		row "$name, p99 at 1M / at 1k" "1k: $(field "$b-small" rps) / $s99 ms; 1M: $(field "$b-big" rps) / $l99 ms" "1k: $m" "" \
			"$(ratio "$(field "$b-small" rps)" "$(field "$b-moto" rps)")" "" \
			"1M/1k p99 = $(awk -v a="$l99" -v b="$s99" 'BEGIN {printf "%.2f", a / b}') (target <= 2)"
	done
	row "ecsd with 1M revisions: peak RSS (VmHWM) after the 1M runs" "$big_hwm MB (VmRSS $big_rss MB, Go heap $big_heap MB)" "" "" "" "" "< 150 MB"
fi

# --- startup: time to a 200 from /health with 1,000,000 revisions ------------
if has_phase startup; then
	log "startup: $STARTUP_RUNS starts with $((BIG_FAMILIES * BIG_REVISIONS)) revisions"
	port=$(free_port)
	times=()
	for _ in $(seq 1 "$STARTUP_RUNS"); do
		t0=$(date +%s%N)
		"$work/ecsd" --listen "127.0.0.1:$port" --data-dir "$big" --log-level warn >>"$work/startup.log" 2>&1 &
		p=$!
		pids+=($p)
		until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do
			kill -0 "$p" 2>/dev/null || { cat "$work/startup.log" >&2; exit 1; }
		done
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
		stop "$p"
	done
	sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
	read -r -a s <<<"$sorted"
	row "Start-up to 200 from /health, 1M revisions ($STARTUP_RUNS runs)" "min ${s[0]} / median ${s[$((${#s[@]} / 2))]} / max ${s[-1]} ms (in order: ${times[*]})" "" "" "" "" "< 300 ms"
fi

# --- scheduler: N services x M tasks in a burst --------------------------------
if has_phase scheduler; then
	log "scheduler: $SCHED_SERVICES services x $SCHED_TASKS tasks"
	start_ecsd sched "$work/data-sched"
	"$work/scheduler" -label ecsd -endpoint "http://127.0.0.1:$port_sched" -services "$SCHED_SERVICES" -tasks "$SCHED_TASKS" \
		>"$work/sched-ecsd.txt" 2>&1 || true
	stop "$pid_sched"
	start_moto motosched MOTO_ECS_SERVICE_RUNNING="$SCHED_TASKS"
	"$work/scheduler" -label moto -endpoint "http://127.0.0.1:$port_motosched" -services "$SCHED_SERVICES" -tasks "$SCHED_TASKS" \
		>"$work/sched-moto.txt" 2>&1 || true
	stop "$pid_motosched"
	cat "$work/sched-ecsd.txt" "$work/sched-moto.txt" >&2
	sched() { sed -n "s/.*steady after *\([0-9.]*s\).*p50=\([0-9.]*ms\) p99=\([0-9.]*ms\).*errors=\([0-9]*\).*/\1 to steady, DescribeServices p50 \2 p99 \3, \4 errors/p" "$1"; }
	se=$(sched "$work/sched-ecsd.txt")
	sm=$(sched "$work/sched-moto.txt")
	row "Scheduler: $SCHED_SERVICES services x $SCHED_TASKS tasks in a burst" "${se:-failed: $(tail -1 "$work/sched-ecsd.txt")}" \
		"${sm:-failed: $(tail -1 "$work/sched-moto.txt")} (moto runs no tasks)" "" "" "" "< 30 s, p99 < 20 ms"
fi

# --- table -------------------------------------------------------------------
{
	echo "machine: $machine"
	echo "date: $(date -u '+%F %T UTC'); load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "wrk -t$THREADS -c$CONNS -d$DURATION --timeout 10s -s bench/wrk/ecs.lua; cells are requests/s / p99 latency"
	echo
	echo "| benchmark | ecsd | moto_server | ceiling (Go net/http) | ecsd/moto | ecsd/ceiling | target |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "${BENCH_OUT:-/dev/null}"
