#!/usr/bin/env bash
# Drive ecsd's capacity providers with the real AWS CLI, the way a user
# would: create an Auto Scaling group capacity provider with managed
# scaling, give it to a cluster, run a service on it and watch the
# simulated Auto Scaling group scale out from 0 to N instances while the
# tasks wait in PROVISIONING, then back to 0 once the service is scaled to
# 0; the errors ECS answers on the way; delete the provider.
#
#   e2e/awscli-capacity.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-capacity.sh
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

# Managed scaling evaluates every 100ms and the 15-minute scale-in waits
# are 100ms, so the whole cycle takes seconds.
step "start ecsd (fast managed scaling)"
start_ecsd "$work/data" --managed-scaling-interval 100ms --scale-in-wait 100ms
arn=arn:aws:ecs:us-east-1:$account
asg=arn:aws:autoscaling:us-east-1:$account:autoScalingGroup:1b2c3d4e-5678-90ab-cdef-00000000000a:autoScalingGroupName/web-asg

# wait_for DESCRIPTION WANT COMMAND... polls COMMAND until it prints WANT.
wait_for() {
	local what=$1 want=$2 got="" deadline=$((SECONDS + 30))
	shift 2
	while ((SECONDS <= deadline)); do
		got=$("$@")
		if [[ $got == "$want" ]]; then
			pass "$what = $want"
			return
		fi
		sleep 0.1
	done
	fail "$what: want [$want], got [$got] after 30s"
}

instances() {
	ecs list-container-instances --cluster web --status ACTIVE --query 'length(containerInstanceArns)' --output text
}

step "create-capacity-provider"
expect "provider" "$arn:capacity-provider/web-cp	ACTIVE	ENABLED	100	0" \
	"$(ecs create-capacity-provider --name web-cp \
		--auto-scaling-group-provider "autoScalingGroupArn=$asg,managedScaling={status=ENABLED,targetCapacity=100,instanceWarmupPeriod=0},managedTerminationProtection=ENABLED" \
		--tags key=ecsd:asg-max-size,value=4 \
		--query 'capacityProvider.[capacityProviderArn,status,autoScalingGroupProvider.managedScaling.status,autoScalingGroupProvider.managedScaling.targetCapacity,autoScalingGroupProvider.managedScaling.instanceWarmupPeriod]' --output text)"
expect_error ClientException 'The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with "aws", "ecs", or "fargate". Specify a valid name and try again.' \
	create-capacity-provider --name ecs-web --auto-scaling-group-provider autoScalingGroupArn=other-asg
expect_error ClientException "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again." \
	create-capacity-provider --name web-cp2 --auto-scaling-group-provider "autoScalingGroupArn=$asg"
expect "describe with TAGS" "web-cp	ecsd:asg-max-size" \
	"$(ecs describe-capacity-providers --capacity-providers web-cp --include TAGS --query 'capacityProviders[0].[name,tags[0].key]' --output text)"
expect "a missing provider" "$arn:capacity-provider/nope	MISSING" \
	"$(ecs describe-capacity-providers --capacity-providers nope --query 'failures[0].[arn,reason]' --output text)"

step "a cluster with the provider as its default strategy"
ecs create-cluster --cluster-name web --tags key=ecsd:sim-instances,value=0 \
	--capacity-providers web-cp --default-capacity-provider-strategy capacityProvider=web-cp,weight=1 >/dev/null
expect "cluster providers" "web-cp	web-cp" \
	"$(ecs describe-clusters --clusters web --query 'clusters[0].[capacityProviders[0],defaultCapacityProviderStrategy[0].capacityProvider]' --output text)"
expect "instances before any task" 0 "$(instances)"
ecs register-task-definition --family web --cpu 1024 --memory 512 \
	--container-definitions '[{"name":"web","image":"nginx","essential":true}]' >/dev/null

step "run-task with no capacity waits in PROVISIONING, then runs"
task=$(ecs run-task --cluster web --task-definition web --query 'tasks[0].[taskArn,lastStatus,capacityProviderName]' --output text)
read -r task_arn status provider <<<"$task"
expect "run-task answer" "PROVISIONING web-cp" "$status $provider"
wait_for "the task" RUNNING ecs describe-tasks --cluster web --tasks "$task_arn" --query 'tasks[0].lastStatus' --output text
ecs stop-task --cluster web --task "$task_arn" >/dev/null

step "a service of 6 tasks scales the group out (2 tasks an instance)"
ecs create-service --cluster web --service-name web --task-definition web --desired-count 6 >/dev/null
wait_for "running tasks" 6 ecs describe-services --cluster web --services web --query 'services[0].runningCount' --output text
wait_for "instances" 3 instances
expect "every instance is the provider's" "web-cp" \
	"$(ecs describe-container-instances --cluster web --container-instances $(ecs list-container-instances --cluster web --query 'containerInstanceArns' --output text) \
		--query 'containerInstances[].capacityProviderName' --output text | tr '\t' '\n' | sort -u)"
expect_error ResourceInUseException "The specified capacity provider is in use and cannot be removed." \
	put-cluster-capacity-providers --cluster web --capacity-providers --default-capacity-provider-strategy '[]'

step "scaled to 0, the group goes back to 0 instances"
ecs update-service --cluster web --service web --desired-count 0 >/dev/null
wait_for "instances" 0 instances

step "delete the provider"
ecs delete-service --cluster web --service web >/dev/null
expect "delete while the cluster has it" "ACTIVE	DELETE_FAILED" \
	"$(ecs delete-capacity-provider --capacity-provider web-cp --query 'capacityProvider.[status,updateStatus]' --output text)"
wait_for "the provider off the cluster" "" \
	bash -c "aws ecs --endpoint-url $endpoint put-cluster-capacity-providers --cluster web --capacity-providers --default-capacity-provider-strategy '[]' --query 'cluster.capacityProviders[0]' --output text 2>/dev/null | sed 's/None//'"
expect "delete" "ACTIVE	DELETE_IN_PROGRESS" \
	"$(ecs delete-capacity-provider --capacity-provider "$arn:capacity-provider/web-cp" --query 'capacityProvider.[status,updateStatus]' --output text)"
expect "then" "INACTIVE	DELETE_COMPLETE" \
	"$(ecs describe-capacity-providers --capacity-providers web-cp --query 'capacityProviders[0].[status,updateStatus]' --output text)"

stop_ecsd
pass "all capacity provider checks passed"
