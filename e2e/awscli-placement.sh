#!/usr/bin/env bash
# Drive ecsd's task placement with the real AWS CLI, the way a user would:
# three simulated container instances in three availability zones, RunTask
# with spread, binpack, memberOf and distinctInstance, a host-port
# conflict, a service moving off a DRAINING instance, a DAEMON service that
# follows the instances, and task scale-in protection.
#
#   e2e/awscli-placement.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-placement.sh
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl.
# Every step is printed; the script stops at the first mismatch and exits
# non-zero. ecsd runs on a free loopback port with a throwaway data
# directory and is stopped on exit.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

step "start ecsd with three simulated instances per cluster"
start_ecsd "$work/data" --sim-instances 3
ecs create-cluster --cluster-name place >/dev/null
ecs register-task-definition --family small --container-definitions \
	'[{"name":"app","image":"busybox","cpu":128,"memory":256}]' >/dev/null
ecs register-task-definition --family port --network-mode bridge --container-definitions \
	'[{"name":"app","image":"busybox","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}]}]' >/dev/null
pass "cluster place, task definitions small and port"

# stable CLUSTER SERVICE waits until the service's one deployment is
# COMPLETED and runs its desired count (the CLI's services-stable waiter
# polls every 15 seconds).
stable() {
	local deadline=$((SECONDS + 60))
	until [[ $(ecs describe-services --cluster "$1" --services "$2" \
		--query 'services[0].[length(deployments), deployments[0].rolloutState, runningCount == desiredCount]' --output text) == "1	COMPLETED	True" ]]; do
		((SECONDS <= deadline)) || fail "service $2 never became stable"
		sleep 0.2
	done
}

# run_zones ARGS... runs small and counts its tasks per zone.
run_zones() {
	ecs run-task --cluster place --task-definition small "$@" --query 'tasks[].availabilityZone' --output text | tr '\t' '\n' | sort | uniq -c | awk '{print $2"="$1}' | paste -sd' ' -
}

step "spread over availability zones"
expect "six tasks, two per zone" "us-east-1a=2 us-east-1b=2 us-east-1c=2" \
	"$(run_zones --count 6 --placement-strategy type=spread,field=attribute:ecs.availability-zone)"

step "binpack on memory fills one instance first"
expect "three tasks on one instance" 1 \
	"$(ecs run-task --cluster place --task-definition small --count 3 --placement-strategy type=binpack,field=memory \
		--query 'tasks[].containerInstanceArn' --output text | tr '\t' '\n' | sort -u | wc -l | tr -d ' ')"

step "memberOf with the cluster query language"
expect "three tasks in us-east-1b" "us-east-1b=3" \
	"$(run_zones --count 3 --placement-constraints 'type=memberOf,expression=attribute:ecs.availability-zone == us-east-1b')"
expect "no instance in eu-west-1a" "0	MemberOf placement constraint unsatisfied." \
	"$(ecs run-task --cluster place --task-definition small \
		--placement-constraints 'type=memberOf,expression=attribute:ecs.availability-zone == eu-west-1a' \
		--query '[length(tasks), failures[0].reason]' --output text)"

step "distinctInstance"
expect "four asked, three placed" "3	DistinctInstance placement constraint unsatisfied." \
	"$(ecs run-task --cluster place --task-definition small --count 4 --group singletons \
		--placement-constraints type=distinctInstance --query '[length(tasks), failures[0].reason]' --output text)"

step "host ports"
expect "port 8080 once per instance" "3	RESOURCE:PORTS" \
	"$(ecs run-task --cluster place --task-definition port --count 4 --query '[length(tasks), failures[0].reason]' --output text)"

step "a service moves off a DRAINING instance; standalone tasks stay"
ecs create-cluster --cluster-name drain >/dev/null
ecs create-service --cluster drain --service-name web --task-definition small --desired-count 3 >/dev/null
stable drain web
victim=$(ecs describe-tasks --cluster drain --tasks "$(ecs list-tasks --cluster drain --service-name web --query 'taskArns[0]' --output text)" \
	--query 'tasks[0].containerInstanceArn' --output text)
ec2=$(ecs describe-container-instances --cluster drain --container-instances "$victim" --query 'containerInstances[0].ec2InstanceId' --output text)
standalone=$(ecs run-task --cluster drain --task-definition small \
	--placement-constraints "type=memberOf,expression=ec2InstanceId == $ec2" --query 'tasks[0].taskArn' --output text)
ecs update-container-instances-state --cluster drain --container-instances "$victim" --status DRAINING >/dev/null
deadline=$((SECONDS + 60))
until [[ $(ecs list-tasks --cluster drain --service-name web --container-instance "$victim" --desired-status RUNNING \
	--query 'length(taskArns)' --output text) == 0 ]]; do
	((SECONDS <= deadline)) || fail "the service's task never left the DRAINING instance"
	sleep 0.2
done
pass "no service task desired RUNNING on the DRAINING instance"
stable drain web
expect "the service runs three tasks again" 3 \
	"$(ecs describe-services --cluster drain --services web --query 'services[0].runningCount' --output text)"
expect "the standalone task is untouched" RUNNING \
	"$(ecs describe-tasks --cluster drain --tasks "$standalone" --query 'tasks[0].desiredStatus' --output text)"

step "task scale-in protection"
keep=$(ecs list-tasks --cluster drain --service-name web --desired-status RUNNING --query 'taskArns[0]' --output text)
expect "protected for two hours by default" True \
	"$(ecs update-task-protection --cluster drain --tasks "$keep" --protection-enabled --query 'protectedTasks[0].protectionEnabled' --output text)"
expect "a standalone task is not valid" TASK_NOT_VALID \
	"$(ecs update-task-protection --cluster drain --tasks "$standalone" --protection-enabled --query 'failures[0].reason' --output text)"
expect_error InvalidParameterException "expiresInMinutes must be between 1 and 2880." \
	update-task-protection --cluster drain --tasks "$keep" --protection-enabled --expires-in-minutes 2881
ecs update-service --cluster drain --service web --desired-count 0 >/dev/null
deadline=$((SECONDS + 60))
until [[ $(ecs list-tasks --cluster drain --service-name web --desired-status RUNNING --query 'taskArns' --output text) == "$keep" ]]; do
	((SECONDS <= deadline)) || fail "scale-in to 0 did not leave exactly the protected task"
	sleep 0.2
done
pass "scale-in to 0 keeps the protected task"
expect "get-task-protection" True \
	"$(ecs get-task-protection --cluster drain --tasks "$keep" --query 'protectedTasks[0].protectionEnabled' --output text)"

step "a DAEMON service follows the instances"
ecs create-cluster --cluster-name daemons >/dev/null
expect_error InvalidParameterException "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again" \
	create-service --cluster daemons --service-name bad --task-definition small --scheduling-strategy DAEMON \
	--placement-strategy type=spread,field=instanceId
ecs create-service --cluster daemons --service-name agent --task-definition small --scheduling-strategy DAEMON >/dev/null
stable daemons agent
expect "one task on each of three instances" "3	3" \
	"$(ecs describe-services --cluster daemons --services agent --query 'services[0].[desiredCount, runningCount]' --output text)"
one=$(ecs list-container-instances --cluster daemons --query 'containerInstanceArns[0]' --output text)
ecs update-container-instances-state --cluster daemons --container-instances "$one" --status DRAINING >/dev/null
deadline=$((SECONDS + 60))
until [[ $(ecs describe-services --cluster daemons --services agent --query 'services[0].[desiredCount, runningCount]' --output text) == "2	2" ]]; do
	((SECONDS <= deadline)) || fail "the DAEMON service did not leave the DRAINING instance"
	sleep 0.2
done
pass "draining an instance takes its daemon task and desiredCount to 2"

printf '\nPASS: AWS CLI task placement against ecsd\n'
