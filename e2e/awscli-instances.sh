#!/usr/bin/env bash
# Drive ecsd's container instances with the real AWS CLI, the way a user
# would: register instances as the ECS agent does, filter them with the
# cluster query language, set attributes, drain them, place tasks with
# RunTask and StartTask, deregister them; then the simulated instances of
# --sim-instances and a restart.
#
#   e2e/awscli-instances.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-instances.sh
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl.
# Every step is printed; the script stops at the first mismatch and exits
# non-zero. ecsd runs on a free loopback port with a throwaway data
# directory and is stopped on exit.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

step "start ecsd (no simulated instances)"
start_ecsd "$work/data"
arn=arn:aws:ecs:us-east-1:$account
ecs create-cluster --cluster-name prod >/dev/null
ecs register-task-definition --family web --container-definitions \
	'[{"name":"web","image":"nginx","cpu":512,"memory":1500,"portMappings":[{"containerPort":80,"hostPort":8080}]}]' >/dev/null
pass "cluster prod and task definition web"

step "EC2 tasks need a container instance"
expect_error InvalidParameterException "No Container Instances were found in your cluster." \
	run-task --cluster prod --task-definition web --launch-type EC2

# register ID ZONE CPU MEMORY [ATTRIBUTES...] registers an instance as the
# ECS agent does and prints its ARN.
register() {
	local id=$1 zone=$2 cpu=$3 mem=$4
	shift 4
	ecs register-container-instance --cluster prod \
		--instance-identity-document "{\"instanceId\":\"$id\",\"availabilityZone\":\"$zone\",\"instanceType\":\"m5.large\",\"imageId\":\"ami-0abc\",\"architecture\":\"x86_64\",\"region\":\"us-east-1\"}" \
		--instance-identity-document-signature c2ln \
		--total-resources "name=CPU,type=INTEGER,integerValue=$cpu" "name=MEMORY,type=INTEGER,integerValue=$mem" \
		'name=PORTS,type=STRINGSET,stringSetValue=22,2375,2376,51678,51679' \
		--version-info agentVersion=1.86.0,agentHash=a1b2c3d4,dockerVersion="DockerVersion: 25.0.6" \
		--attributes name=ecs.os-type,value=linux name=com.amazonaws.ecs.capability.docker-remote-api.1.18 "$@" \
		--query containerInstance.containerInstanceArn --output text
}

step "register three instances in two zones"
a=$(register i-0aaaaaaaaaaaaaaa1 us-east-1a 2048 3705 name=stack,value=blue)
b=$(register i-0bbbbbbbbbbbbbbb2 us-east-1b 1024 1000)
c=$(register i-0ccccccccccccccc3 us-east-1a 2048 3705)
[[ $a =~ ^$arn:container-instance/prod/[0-9a-f]{32}$ ]] || fail "ARN $a is not container-instance/prod/<32 hex digits>"
pass "long-format ARNs: $a"
expect "registeredContainerInstancesCount" 3 \
	"$(ecs describe-clusters --clusters prod --query 'clusters[0].registeredContainerInstancesCount' --output text)"
expect "derived attributes" "us-east-1a	m5.large	ami-0abc	x86_64	True	ACTIVE" \
	"$(ecs describe-container-instances --cluster prod --container-instances "$a" --query 'containerInstances[0].[
		attributes[?name==`ecs.availability-zone`].value | [0], attributes[?name==`ecs.instance-type`].value | [0],
		attributes[?name==`ecs.ami-id`].value | [0], attributes[?name==`ecs.cpu-architecture`].value | [0],
		agentConnected, status]' --output text)"
expect "resources" "CPU	2048	MEMORY	3705	PORTS	STRINGSET" \
	"$(ecs describe-container-instances --cluster prod --container-instances "$a" --query 'containerInstances[0].[
		remainingResources[0].name, remainingResources[0].integerValue, remainingResources[1].name,
		remainingResources[1].integerValue, remainingResources[2].name, remainingResources[2].type]' --output text)"
expect "an unknown instance is MISSING" "$arn:container-instance/prod/nope	MISSING" \
	"$(ecs describe-container-instances --cluster prod --container-instances nope --query 'failures[0].[arn, reason]' --output text)"

step "list-container-instances --filter (cluster query language)"
count() { ecs list-container-instances --cluster prod "$@" --query 'length(containerInstanceArns)' --output text; }
expect "all" 3 "$(count)"
expect "zone us-east-1a" 2 "$(count --filter 'attribute:ecs.availability-zone == us-east-1a')"
expect "zone in [us-east-1b, us-east-1c]" 1 "$(count --filter 'attribute:ecs.availability-zone in [us-east-1b, us-east-1c]')"
expect "m5.* and not in us-east-1b" 2 \
	"$(count --filter 'attribute:ecs.instance-type =~ m5.* and not(attribute:ecs.availability-zone == us-east-1b)')"
expect "a custom attribute" 1 "$(count --filter 'attribute:stack exists')"
expect "ec2InstanceId" 1 "$(count --filter 'ec2InstanceId == i-0bbbbbbbbbbbbbbb2')"
expect "pages of one" 3 "$(ecs list-container-instances --cluster prod --page-size 1 --query 'containerInstanceArns[]' --output text | wc -w | tr -d ' ')"
set +e
out=$(ecs list-container-instances --cluster prod --filter 'attribute:stack like blue' 2>&1)
set -e
[[ $out == *"(InvalidParameterException)"* ]] || fail "a malformed filter: $out"
pass "a malformed filter is an InvalidParameterException"

step "attributes"
expect "put-attributes" "tier	gold" "$(ecs put-attributes --cluster prod \
	--attributes "name=tier,value=gold,targetId=$b" --query 'attributes[0].[name, value]' --output text)"
expect "list-attributes" "$b" "$(ecs list-attributes --cluster prod --target-type container-instance \
	--attribute-name tier --query 'attributes[0].targetId' --output text)"
expect "the filter sees it" 1 "$(count --filter 'attribute:tier == gold')"
expect_error TargetNotFoundException "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific." \
	put-attributes --cluster prod --attributes name=x,targetId=0123456789abcdef0123456789abcdef

step "start-task: one task per instance that can take it"
expect "on a; b lacks memory; an unknown one is MISSING" "$a	RESOURCE:MEMORY	MISSING" \
	"$(ecs start-task --cluster prod --task-definition web --container-instances "$a" "$b" ffffffffffffffffffffffffffffffff \
		--query '[tasks[0].containerInstanceArn, failures[0].reason, failures[1].reason]' --output text)"
expect "host port 8080 is taken on a" "RESOURCE:PORTS" \
	"$(ecs start-task --cluster prod --task-definition web --container-instances "$a" --query 'failures[0].reason' --output text)"

step "drain and activate"
expect "drain c" "DRAINING" "$(ecs update-container-instances-state --cluster prod --container-instances "$c" \
	--status DRAINING --query 'containerInstances[0].status' --output text)"
expect "run-task places nothing on a DRAINING instance" "0	2" \
	"$(ecs run-task --cluster prod --task-definition web --count 2 --query '[length(tasks), length(failures)]' --output text)"
expect_error InvalidParameterException "Container instance status should be one of [ACTIVE, DRAINING]" \
	update-container-instances-state --cluster prod --container-instances "$c" --status REGISTERING
ecs update-container-instances-state --cluster prod --container-instances "$c" --status ACTIVE >/dev/null
expect "run-task lands on c again" "$c	us-east-1a" \
	"$(ecs run-task --cluster prod --task-definition web --query 'tasks[0].[containerInstanceArn, availabilityZone]' --output text)"
expect "list-tasks --container-instance" 1 \
	"$(ecs list-tasks --cluster prod --container-instance "$c" --query 'length(taskArns)' --output text)"

step "deregister"
expect_error InvalidParameterException "Found running tasks on the instance." \
	deregister-container-instance --cluster prod --container-instance "$c"
expect "forced" INACTIVE "$(ecs deregister-container-instance --cluster prod --container-instance "$c" --force \
	--query containerInstance.status --output text)"
expect "an idle instance" INACTIVE "$(ecs deregister-container-instance --cluster prod --container-instance "$b" \
	--query containerInstance.status --output text)"
expect "listed now" "$a" "$(ecs list-container-instances --cluster prod --query 'containerInstanceArns[0]' --output text)"
expect "agent update" PENDING "$(ecs update-container-agent --cluster prod --container-instance "$a" \
	--query containerInstance.agentUpdateStatus --output text)"
for t in $(ecs list-tasks --cluster prod --query 'taskArns' --output text); do
	ecs stop-task --cluster prod --task "$t" >/dev/null
done
# shellcheck disable=SC2046 # one argument per task ARN
ecs wait tasks-stopped --cluster prod --tasks $(ecs list-tasks --cluster prod --desired-status STOPPED --query 'taskArns' --output text)
pass "tasks stopped"
expect_error ClusterContainsContainerInstancesException "The Cluster cannot be deleted while Container Instances are active or draining." \
	delete-cluster --cluster prod

step "simulated instances (--sim-instances 2) after a restart"
stop_ecsd
start_ecsd "$work/data" --sim-instances 2
expect "prod keeps its instance and gets two simulated ones" 3 "$(count)"
expect "a new cluster gets two, in two zones" "us-east-1a	us-east-1b" "$(ecs create-cluster --cluster-name sim >/dev/null &&
	ecs describe-container-instances --cluster sim --container-instances $(ecs list-container-instances --cluster sim \
		--query 'containerInstanceArns' --output text) \
		--query 'containerInstances[].attributes[?name==`ecs.availability-zone`].value[] | sort(@)' --output text)"
expect "the tag ecsd:sim-instances overrides the flag" 0 \
	"$(ecs create-cluster --cluster-name none --tags key=ecsd:sim-instances,value=0 >/dev/null &&
		ecs list-container-instances --cluster none --query 'length(containerInstanceArns)' --output text)"
expect "delete-cluster takes ecsd's own instances along" INACTIVE \
	"$(ecs delete-cluster --cluster sim --query cluster.status --output text)"

printf '\nPASS: AWS CLI container instances against ecsd\n'
