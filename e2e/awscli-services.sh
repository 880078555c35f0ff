#!/usr/bin/env bash
# A service deployment with the real AWS CLI, the walkthrough of the README:
# cluster, Fargate revision, service, waiters, a rolling update, the
# INACTIVE rules of DeregisterTaskDefinition, deletion.
#
#   e2e/awscli-services.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-services.sh
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

step "start ecsd"
start_ecsd "$work/data"
td_arn=arn:aws:ecs:us-east-1:$account:task-definition

step "a cluster and a Fargate revision"
expect "create-cluster" "ACTIVE" "$(ecs create-cluster --cluster-name demo --query cluster.status --output text)"
web() { # web IMAGE registers the next revision of family web
	ecs register-task-definition --family web --requires-compatibilities FARGATE --network-mode awsvpc \
		--cpu 256 --memory 512 --container-definitions "[{\"name\":\"app\",\"image\":\"$1\",\"portMappings\":[{\"containerPort\":80}]}]" \
		--query taskDefinition.taskDefinitionArn --output text
}
expect "register web:1" "$td_arn/web:1" "$(web nginx:1.27)"
net='awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],securityGroups=[sg-0123456789abcdef0]}'

step "create a service and wait for it to be stable"
expect "create-service" "ACTIVE" "$(ecs create-service --cluster demo --service-name web --task-definition web \
	--desired-count 2 --launch-type FARGATE --network-configuration "$net" --query service.status --output text)"
ecs wait services-stable --cluster demo --services web
pass "aws ecs wait services-stable"
# services-stable needs only runningCount == desiredCount and one
# deployment, on AWS too: the rollout can complete, and the steady-state
# event be written, a scheduler pass later. Wait for that, then check it.
deadline=$((SECONDS + 60))
until [[ $(ecs describe-services --cluster demo --services web \
	--query 'services[0].[deployments[0].rolloutState, events[0].message]' --output text) == \
	"COMPLETED	(service web) has reached a steady state." ]]; do
	((SECONDS <= deadline)) || break # the expects below say what is wrong
	sleep 1
done
expect "running/desired, deployments, rollout" "2	2	1	COMPLETED" "$(ecs describe-services --cluster demo --services web \
	--query 'services[0].[runningCount,desiredCount,length(deployments),deployments[0].rolloutState]' --output text)"
expect "steady-state event" "(service web) has reached a steady state." \
	"$(ecs describe-services --cluster demo --services web --query 'services[0].events[0].message' --output text)"
tasks=$(ecs list-tasks --cluster demo --service-name web --query taskArns --output text)
expect "service tasks" 2 "$(wc -w <<<"$tasks")"
# shellcheck disable=SC2086 # the task ARNs are separate words
expect "tasks RUNNING, group service:web" "RUNNING	service:web
RUNNING	service:web" "$(ecs describe-tasks --cluster demo --tasks $tasks --query 'tasks[].[lastStatus,group]' --output text)"

step "roll out web:2"
expect "register web:2" "$td_arn/web:2" "$(web nginx:1.28)"
ecs update-service --cluster demo --service web --task-definition web:2 >/dev/null
ecs wait services-stable --cluster demo --services web
expect "service on web:2, one deployment" "$td_arn/web:2	1	2" "$(ecs describe-services --cluster demo --services web \
	--query 'services[0].[taskDefinition,length(deployments),runningCount]' --output text)"
# shellcheck disable=SC2086
expect "the web:1 tasks were stopped by the scheduler" "ServiceSchedulerInitiated
ServiceSchedulerInitiated" "$(ecs describe-tasks --cluster demo --tasks $tasks --query 'tasks[].stopCode' --output text | tr '\t' '\n')"

step "deregister the revision the service runs: it keeps running and still scales"
expect "deregister web:2" "INACTIVE" "$(ecs deregister-task-definition --task-definition web:2 --query taskDefinition.status --output text)"
ecs update-service --cluster demo --service web --desired-count 3 >/dev/null
ecs wait services-stable --cluster demo --services web
expect "3 running on the INACTIVE web:2" "3	$td_arn/web:2" "$(ecs describe-services --cluster demo --services web \
	--query 'services[0].[runningCount,taskDefinition]' --output text)"

step "an INACTIVE revision starts nothing new"
expect "deregister web:1" "INACTIVE" "$(ecs deregister-task-definition --task-definition web:1 --query taskDefinition.status --output text)"
expect_error ClientException "TaskDefinition is inactive" update-service --cluster demo --service web --task-definition web:1
expect_error InvalidParameterException "TaskDefinition is inactive" run-task --cluster demo --task-definition web:2 \
	--launch-type FARGATE --network-configuration "$net"
expect_error ClientException "TaskDefinition is inactive" create-service --cluster demo --service-name web2 \
	--task-definition web:2 --desired-count 1 --launch-type FARGATE --network-configuration "$net"

step "delete the revision in use: DELETE_IN_PROGRESS while the service uses it"
expect "delete-task-definitions web:2" "DELETE_IN_PROGRESS" "$(ecs delete-task-definitions --task-definitions web:2 \
	--query 'taskDefinitions[0].status' --output text)"
expect "describe web:2" "DELETE_IN_PROGRESS" "$(ecs describe-task-definition --task-definition web:2 --query taskDefinition.status --output text)"

step "delete the service"
expect_error InvalidParameterException "The service cannot be stopped while it is scaled above 0." delete-service --cluster demo --service web
expect "delete-service --force" "DRAINING" "$(ecs delete-service --cluster demo --service web --force --query service.status --output text)"
ecs wait services-inactive --cluster demo --services web
pass "aws ecs wait services-inactive"
expect "describe-services" "INACTIVE" "$(ecs describe-services --cluster demo --services web --query 'services[0].status' --output text)"
expect "list-services" "" "$(ecs list-services --cluster demo --query serviceArns --output text)"
expect "no task left running" "" "$(ecs list-tasks --cluster demo --query taskArns --output text)"

step "delete the cluster"
expect "delete-cluster" "INACTIVE" "$(ecs delete-cluster --cluster demo --query cluster.status --output text)"

step "stop ecsd"
stop_ecsd
pass "clean shutdown"
