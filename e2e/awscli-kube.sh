#!/usr/bin/env bash
# ECS on Kubernetes with the real AWS CLI: ecsd --runtime kubernetes runs
# each task as a pod. Register, a Fargate service to steady state, a
# rolling update, RunTask/StopTask, scale to zero and delete.
#
#   KUBECONFIG=~/.kube/config ECSD_KUBE_NAMESPACE=ecsd-cli e2e/awscli-kube.sh
#   ECSD_BIN=/path/to/ecsd KUBECONFIG=... e2e/awscli-kube.sh
#
# The cluster's nodes must run the image it names (ECSD_KUBE_IMAGE, default
# ecsd-test/web): internal/e2e's TestKubeScripts runs it on the tier-1
# test cluster, whose kwok nodes run any image. The namespace is created if
# missing and left there; the script's pods are gone when it ends.
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl, a cluster.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${KUBECONFIG:?KUBECONFIG must name the cluster to run the tasks on}"
ns=${ECSD_KUBE_NAMESPACE:-ecsd-cli}
image=${ECSD_KUBE_IMAGE:-ecsd-test/web}
build_ecsd

step "start ecsd on the kubernetes runtime (namespace $ns)"
start_ecsd "$work/data" --runtime kubernetes --kubeconfig "$KUBECONFIG" --kube-namespace "$ns"
grep -q 'msg="runtime: tasks run as Kubernetes pods"' "$work/ecsd.log" || fail "ecsd did not open the kubernetes runtime"
pass "tasks run as pods in $ns"
td_arn=arn:aws:ecs:us-east-1:$account:task-definition

step "a cluster and a Fargate revision"
expect "create-cluster" "ACTIVE" "$(ecs create-cluster --cluster-name kube --query cluster.status --output text)"
web() { # web TAG registers the next revision of family kube-web
	ecs register-task-definition --family kube-web --requires-compatibilities FARGATE --network-mode awsvpc \
		--cpu 256 --memory 512 --container-definitions "[{\"name\":\"app\",\"image\":\"$image:$1\",\"portMappings\":[{\"containerPort\":8080}]}]" \
		--query taskDefinition.taskDefinitionArn --output text
}
expect "register kube-web:1" "$td_arn/kube-web:1" "$(web 1)"
net='awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],securityGroups=[sg-0123456789abcdef0]}'

step "create a service of 2 and wait for steady state"
expect "create-service" "ACTIVE" "$(ecs create-service --cluster kube --service-name web --task-definition kube-web \
	--desired-count 2 --launch-type FARGATE --network-configuration "$net" --query service.status --output text)"
ecs wait services-stable --cluster kube --services web
pass "aws ecs wait services-stable"
deadline=$((SECONDS + 60))
until [[ $(ecs describe-services --cluster kube --services web --query 'services[0].events[0].message' --output text) == \
	"(service web) has reached a steady state." ]]; do
	((SECONDS <= deadline)) || break # the expects below say what is wrong
	sleep 1
done
expect "running/desired, deployments, rollout" "2	2	1	COMPLETED" "$(ecs describe-services --cluster kube --services web \
	--query 'services[0].[runningCount,desiredCount,length(deployments),deployments[0].rolloutState]' --output text)"
expect "steady-state event" "(service web) has reached a steady state." \
	"$(ecs describe-services --cluster kube --services web --query 'services[0].events[0].message' --output text)"
tasks=$(ecs list-tasks --cluster kube --service-name web --query taskArns --output text)
expect "service tasks" 2 "$(wc -w <<<"$tasks")"
# shellcheck disable=SC2086 # the task ARNs are separate words
expect "tasks RUNNING on FARGATE, group service:web" "RUNNING	FARGATE	service:web
RUNNING	FARGATE	service:web" "$(ecs describe-tasks --cluster kube --tasks $tasks --query 'tasks[].[lastStatus,launchType,group]' --output text)"
# shellcheck disable=SC2086
ips=$(ecs describe-tasks --cluster kube --tasks $tasks --query 'tasks[].containers[0].networkInterfaces[0].privateIpv4Address' --output text)
[[ $(wc -w <<<"$ips") == 2 && $ips != *None* ]] || fail "each task's container has its pod's address: got [$ips]"
pass "pod addresses as the tasks' private IPv4 addresses: $ips"

step "roll out kube-web:2"
expect "register kube-web:2" "$td_arn/kube-web:2" "$(web 2)"
ecs update-service --cluster kube --service web --task-definition kube-web:2 >/dev/null
ecs wait services-stable --cluster kube --services web
expect "service on kube-web:2, one deployment, 2 running" "$td_arn/kube-web:2	1	2" "$(ecs describe-services --cluster kube --services web \
	--query 'services[0].[taskDefinition,length(deployments),runningCount]' --output text)"
# shellcheck disable=SC2086
expect "the kube-web:1 tasks were stopped by the scheduler" "STOPPED	ServiceSchedulerInitiated
STOPPED	ServiceSchedulerInitiated" "$(ecs describe-tasks --cluster kube --tasks $tasks --query 'tasks[].[lastStatus,stopCode]' --output text)"
new=$(ecs list-tasks --cluster kube --service-name web --query taskArns --output text)
# shellcheck disable=SC2086
expect "the new tasks run kube-web:2" "$td_arn/kube-web:2
$td_arn/kube-web:2" "$(ecs describe-tasks --cluster kube --tasks $new --query 'tasks[].taskDefinitionArn' --output text | tr '\t' '\n')"

step "run-task and stop-task"
task=$(ecs run-task --cluster kube --task-definition kube-web:2 --launch-type FARGATE --network-configuration "$net" \
	--query 'tasks[0].taskArn' --output text)
ecs wait tasks-running --cluster kube --tasks "$task"
pass "aws ecs wait tasks-running"
expect "stop-task" "STOPPED" "$(ecs stop-task --cluster kube --task "$task" --reason "done with it" --query task.desiredStatus --output text)"
ecs wait tasks-stopped --cluster kube --tasks "$task"
expect "stopped: code, reason, exit code" "UserInitiated	done with it	0" "$(ecs describe-tasks --cluster kube --tasks "$task" \
	--query 'tasks[0].[stopCode,stoppedReason,containers[0].exitCode]' --output text)"

step "scale to zero, delete the service"
ecs update-service --cluster kube --service web --desired-count 0 >/dev/null
ecs wait services-stable --cluster kube --services web
expect "nothing running" "0" "$(ecs describe-services --cluster kube --services web --query 'services[0].runningCount' --output text)"
expect "delete-service" "DRAINING" "$(ecs delete-service --cluster kube --service web --query service.status --output text)"
ecs wait services-inactive --cluster kube --services web
pass "aws ecs wait services-inactive"
expect "no task left running" "" "$(ecs list-tasks --cluster kube --desired-status RUNNING --query taskArns --output text)"

step "stop ecsd"
stop_ecsd
pass "done"
