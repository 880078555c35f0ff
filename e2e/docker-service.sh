#!/usr/bin/env bash
# A service on real containers, driven by the AWS CLI the way a user would:
# build a small HTTP server image locally, register a bridge-mode task
# definition with a dynamic host port, create a service, wait until it is
# stable, curl it, roll it to a new revision (deregistering the old one
# while its tasks still serve), delete it, and check that no container is
# left behind.
#
#   e2e/docker-service.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/docker-service.sh
#
# Needs: a local Docker Engine and the docker CLI, go, aws (v1 or v2), curl.
# There is no registry: the image is a static Go binary imported FROM
# scratch with `docker import`. ecsd runs on a free loopback port with a
# throwaway data directory; its containers carry the label
# ecsd.data-dir=<that directory>, which is how this script finds them.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

data=$work/data
image=ecsd-e2e/hello:$$
scope_filter="label=ecsd.data-dir=$data"

remove_leftovers() {
	docker ps -aq --filter "$scope_filter" | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker rmi -f "$image" >/dev/null 2>&1 || true
}
trap 'cleanup; remove_leftovers' EXIT

step "build the image: a static HTTP server, FROM scratch"
mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'EOF'
// hello answers $BODY on / and ok on /health; "hello check" is its health
// check. It exits on SIGTERM, as a container should.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		resp, err := http.Get("http://127.0.0.1:8080/health")
		if err != nil || resp.StatusCode != 200 {
			os.Exit(1)
		}
		return
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv("BODY")) })
	go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(":8080", nil)); os.Exit(2) }()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	<-term
}
EOF
printf 'module hello\n\ngo 1.22\n' >"$work/hello/go.mod"
arch=$(docker version --format '{{.Server.Arch}}')
(cd "$work/hello" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o hello .)
tar -C "$work/hello" -cf - hello | docker import --change 'ENTRYPOINT ["/hello"]' - "$image" >/dev/null
pass "imported $image ($(docker image inspect --format '{{.Size}}' "$image") bytes)"

step "start ecsd on the Docker runtime"
# Stopped tasks are deleted (and their containers removed) a second after
# they stop, so the end of the script can check that nothing is left.
start_ecsd "$data" --runtime docker --task-retention 1s
grep -q 'runtime=docker' "$work/ecsd.log" || fail "ecsd did not say it runs tasks on Docker"
ecs create-cluster --cluster-name web >/dev/null

# register BODY: a bridge-mode revision of the web family; prints its ARN.
register() {
	ecs register-task-definition --family web --network-mode bridge --container-definitions "[{
		\"name\": \"web\", \"image\": \"$image\", \"memory\": 64, \"essential\": true,
		\"portMappings\": [{\"containerPort\": 8080, \"hostPort\": 0}],
		\"environment\": [{\"name\": \"BODY\", \"value\": \"$1\"}],
		\"healthCheck\": {\"command\": [\"CMD\", \"/hello\", \"check\"], \"interval\": 5, \"timeout\": 2, \"retries\": 2},
		\"logConfiguration\": {\"logDriver\": \"awslogs\", \"options\": {
			\"awslogs-group\": \"/ecs/web\", \"awslogs-region\": \"us-east-1\", \"awslogs-stream-prefix\": \"web\"}}
	}]" --query taskDefinition.taskDefinitionArn --output text
}

# bodies REVISION: what every running task of the service answers, one
# line per task, sorted, after checking each task runs that revision.
bodies() {
	local arns
	arns=$(ecs list-tasks --cluster web --service-name web --desired-status RUNNING --query 'taskArns' --output text)
	[[ -n $arns ]] || fail "the service has no running task"
	# shellcheck disable=SC2086
	ecs describe-tasks --cluster web --tasks $arns \
		--query 'tasks[].[taskDefinitionArn, lastStatus, healthStatus, containers[0].networkBindings[0].bindIP, containers[0].networkBindings[0].hostPort]' \
		--output text | while read -r td status health ip port; do
		[[ $td == *":$1" && $status == RUNNING && $health == HEALTHY && $ip == 127.0.0.1 ]] ||
			fail "task on $td is $status/$health, bound to $ip:$port; want revision $1, RUNNING, HEALTHY, on 127.0.0.1"
		curl -fsS "http://$ip:$port/"
	done | sort
}

# healthy: wait until every running task of the service passes its
# container health check. services-stable does not wait for that, on AWS
# either: it needs runningCount == desiredCount and one deployment, and a
# task counts as running before its first health check (5 s here) has run.
healthy() {
	local deadline=$((SECONDS + 60)) arns health
	while :; do
		arns=$(ecs list-tasks --cluster web --service-name web --desired-status RUNNING --query 'taskArns' --output text)
		# shellcheck disable=SC2086
		health=$(ecs describe-tasks --cluster web --tasks $arns --query 'tasks[].healthStatus' --output text)
		[[ -n $health && $health != *UNKNOWN* && $health != *UNHEALTHY* ]] && break
		((SECONDS < deadline)) || fail "the service's tasks are not HEALTHY after 60 s: $health"
		sleep 1
	done
	pass "every task is HEALTHY"
}

step "register revision 1 and create the service"
td1=$(register v1)
expect "revision 1" "arn:aws:ecs:us-east-1:$account:task-definition/web:1" "$td1"
expect "create-service" "ACTIVE	2" "$(ecs create-service --cluster web --service-name web --task-definition web:1 \
	--desired-count 2 --deployment-configuration 'minimumHealthyPercent=50,maximumPercent=200' \
	--query 'service.[status, desiredCount]' --output text)"
ecs wait services-stable --cluster web --services web
pass "services-stable"
healthy
expect "both tasks answer v1 on their dynamic host ports" "v1
v1" "$(bodies 1)"
expect "running containers of this ecsd" 2 "$(docker ps -q --filter "$scope_filter" --filter label=com.amazonaws.ecs.container-name=web | wc -l | tr -d ' ')"

step "register revision 2, deregister revision 1 while its tasks serve"
register v2 >/dev/null
expect "deregister web:1" INACTIVE "$(ecs deregister-task-definition --task-definition web:1 --query taskDefinition.status --output text)"
expect "revision 1's tasks keep running and serving" "v1
v1" "$(bodies 1)"

step "roll the service to revision 2"
ecs update-service --cluster web --service web --task-definition web:2 >/dev/null
ecs wait services-stable --cluster web --services web
pass "services-stable"
healthy
expect "both tasks answer v2" "v2
v2" "$(bodies 2)"
expect "one deployment left, on revision 2" "1	arn:aws:ecs:us-east-1:$account:task-definition/web:2" \
	"$(ecs describe-services --cluster web --services web --query 'services[0].[length(deployments), deployments[0].taskDefinition]' --output text)"
task=$(ecs list-tasks --cluster web --service-name web --query 'taskArns[0]' --output text)
expect "ecsd logs reads a task's container (awslogs is kept locally)" 0 \
	"$("$ECSD_BIN" logs --data-dir "$data" "$task" web >/dev/null 2>&1; echo $?)"

step "delete the service"
ecs delete-service --cluster web --service web --force >/dev/null
ecs wait services-inactive --cluster web --services web
pass "services-inactive"
deadline=$((SECONDS + 60))
until [[ -z $(docker ps -aq --filter "$scope_filter") ]]; do
	((SECONDS <= deadline)) || fail "containers left: $(docker ps -a --filter "$scope_filter" --format '{{.Names}} {{.Status}}')"
	sleep 0.5
done
pass "no container of this ecsd is left (docker ps -a --filter $scope_filter)"
expect "delete-cluster" INACTIVE "$(ecs delete-cluster --cluster web --query cluster.status --output text)"

step "stop ecsd"
stop_ecsd
expect "containers after ecsd stopped" 0 "$(docker ps -aq --filter "$scope_filter" | wc -l | tr -d ' ')"
printf '\nall docker-service checks passed\n'
