#!/usr/bin/env bash
# ecsd as a container image, as a user runs it from the README: build the
# image locally, start deploy/docker-compose.yml (ecsd with the Docker
# socket, state on a volume), run a task of a locally built image through
# the AWS CLI, curl it, restart ecsd's container and find the task still
# RUNNING, stop it, and take everything down with nothing left behind.
#
#   e2e/docker-compose.sh
#
# Needs: a local Docker Engine, docker-compose (v1 or the v2 plugin), go,
# aws, curl. The compose project, image tags and data directory are unique
# to this run, so runs never see each other's containers.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if docker compose version >/dev/null 2>&1; then
	compose() { docker compose "$@"; }
elif command -v docker-compose >/dev/null; then
	compose() { docker-compose "$@"; }
else
	fail "neither docker compose nor docker-compose is installed"
fi

project=ecsde2e$$
export COMPOSE_PROJECT_NAME=$project
export ECSD_IMAGE=ecsd-e2e/ecsd:$$
export ECSD_DATA_DIR=/data/$project
hello=ecsd-e2e/hello-compose:$$
scope_filter="label=ecsd.data-dir=$ECSD_DATA_DIR"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ECSD_LISTEN=127.0.0.1:$port
endpoint=http://$ECSD_LISTEN
compose_file=$root/deploy/docker-compose.yml

remove_leftovers() {
	compose -f "$compose_file" down -v --remove-orphans >/dev/null 2>&1 || true
	docker ps -aq --filter "$scope_filter" | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker rmi -f "$ECSD_IMAGE" "$hello" >/dev/null 2>&1 || true
}
trap 'status=$?; if ((status)); then compose -f "$compose_file" logs --tail 30 >&2 || true; fi; remove_leftovers; cleanup' EXIT

step "build the ecsd image (FROM scratch, nothing pulled)"
expect "build-image.sh prints the tag" "$ECSD_IMAGE" "$("$root/deploy/docker/build-image.sh" "$ECSD_IMAGE")"
pass "$(docker image inspect --format '{{.Size}}' "$ECSD_IMAGE") bytes"

step "build a task image: a static HTTP server"
mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'GO'
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello from a task") })
	go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(":8080", nil)); os.Exit(2) }()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	<-term
}
GO
printf 'module hello\n\ngo 1.22\n' >"$work/hello/go.mod"
arch=$(docker version --format '{{.Server.Arch}}')
(cd "$work/hello" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o hello .)
tar -C "$work/hello" -cf - hello | docker import --change 'ENTRYPOINT ["/hello"]' - "$hello" >/dev/null
pass "imported $hello"

# up_and_healthy waits for the containerised ecsd to answer /health.
up_and_healthy() {
	local deadline=$((SECONDS + 60))
	until curl -fsS "$endpoint/health" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "ecsd in its container never answered $endpoint/health"
		sleep 0.2
	done
}

step "docker-compose up"
compose -f "$compose_file" up -d >/dev/null 2>&1
up_and_healthy
pass "ecsd answers on $endpoint"
# Read the whole log before matching: `grep -q` stops at the first match,
# and under pipefail the writer's broken pipe would fail the pipeline.
startup_log=$(compose -f "$compose_file" logs 2>&1)
grep -q 'runtime=docker' <<<"$startup_log" || fail "ecsd did not say it runs tasks on Docker"
pass "its log says runtime=docker"

step "run a task through the AWS CLI"
ecs register-task-definition --family hello --network-mode bridge --container-definitions "[{
	\"name\": \"web\", \"image\": \"$hello\", \"memory\": 32,
	\"portMappings\": [{\"containerPort\": 8080, \"hostPort\": 0}]}]" >/dev/null
task=$(ecs run-task --task-definition hello --query 'tasks[0].taskArn' --output text)
ecs wait tasks-running --tasks "$task"
hostport=$(ecs describe-tasks --tasks "$task" --query 'tasks[0].containers[0].networkBindings[0].hostPort' --output text)
expect "curl the task's dynamic host port" "hello from a task" "$(curl -fsS "http://127.0.0.1:$hostport/")"
expect "the task's container carries the data directory label" 1 \
	"$(docker ps -q --filter "$scope_filter" --filter label=com.amazonaws.ecs.container-name=web | wc -l | tr -d ' ')"

step "restart ecsd's container: the state is on the volume, the task is adopted"
compose -f "$compose_file" restart >/dev/null 2>&1
up_and_healthy
expect "the task after the restart" RUNNING "$(ecs describe-tasks --tasks "$task" --query 'tasks[0].lastStatus' --output text)"
expect "and it still answers" "hello from a task" "$(curl -fsS "http://127.0.0.1:$hostport/")"

step "stop the task, take it all down"
ecs stop-task --task "$task" >/dev/null
ecs wait tasks-stopped --tasks "$task"
pass "tasks-stopped"
compose -f "$compose_file" down -v >/dev/null 2>&1
docker ps -aq --filter "$scope_filter" | xargs -r docker rm -f >/dev/null
expect "containers of ecsd's project left" 0 "$(docker ps -aq --filter "label=com.docker.compose.project=$project" | wc -l | tr -d ' ')"
