#!/usr/bin/env bash
# Drive ecsd's task-definition lifecycle with the real AWS CLI, the way a
# user would: register, describe, list, tag, deregister, delete, restart.
#
#   e2e/awscli-taskdefs.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-taskdefs.sh
#
# Needs: go (unless ECSD_BIN is set), aws (v1 or v2), curl.
# Every step is printed; the script stops at the first mismatch and exits
# non-zero. ecsd runs on a free loopback port with a throwaway data
# directory and is stopped on exit.
set -euo pipefail

# shellcheck source=e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_ecsd

step "start ecsd"
start_ecsd "$work/data"
health=$(curl -fsS "$endpoint/health")
expect "GET /health" '{"status":"ok"}' "$health"

app='[{"name":"app","image":"busybox:1.36","memory":128}]'

step "register web three times: revisions 1, 2, 3"
expect "revision" 1 "$(ecs register-task-definition --family web --container-definitions "$app" \
	--query taskDefinition.revision --output text)"
expect "revision" 2 "$(ecs register-task-definition --family web --container-definitions "$app" \
	--query taskDefinition.revision --output text)"
expect "ARN, status" "arn:aws:ecs:us-east-1:$account:task-definition/web:3	ACTIVE" \
	"$(ecs register-task-definition --family web --container-definitions "$app" --tags key=team,value=core \
		--query '[taskDefinition.taskDefinitionArn, taskDefinition.status]' --output text)"

step "computed fields and defaults"
# One describe, several members: tab-separated in text output.
expect "registeredBy, compatibilities, container cpu, essential, portMappings" \
	"arn:aws:iam::$account:root	EXTERNAL,EC2	0	True	0" \
	"$(ecs describe-task-definition --task-definition web:1 --query 'taskDefinition.[registeredBy,
		join(`,`, compatibilities), containerDefinitions[0].cpu, containerDefinitions[0].essential,
		length(containerDefinitions[0].portMappings)]' --output text)"
expect "fargate compatibilities, task-eni attribute" "EC2,FARGATE	True" "$(ecs register-task-definition --family api \
	--requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
	--container-definitions '[{"name":"api","image":"nginx","portMappings":[{"containerPort":80}]}]' \
	--query 'taskDefinition.[join(`,`, compatibilities), contains(requiresAttributes[].name, `ecs.capability.task-eni`)]' \
	--output text)"

step "registration errors"
expect_error ClientException "Family contains invalid characters." \
	register-task-definition --family 'web app' --container-definitions "$app"
expect_error ClientException "Container list cannot be empty." \
	register-task-definition --family web --container-definitions '[]'
expect_error ClientException "Container.image should not be null or empty." \
	register-task-definition --family web --container-definitions '[{"name":"app","memory":128}]'
expect_error ClientException "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified." \
	register-task-definition --family web --container-definitions '[{"name":"app","image":"busybox"}]'
expect_error ClientException "Fargate only supports network mode ‘awsvpc’." \
	register-task-definition --family api --requires-compatibilities FARGATE --network-mode bridge \
	--cpu 256 --memory 512 --container-definitions "$app"
expect_error ClientException "No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values." \
	register-task-definition --family api --requires-compatibilities FARGATE --network-mode awsvpc \
	--cpu 1024 --memory 1024 --container-definitions "$app"

step "describe"
expect "family resolves to latest ACTIVE" 3 "$(ecs describe-task-definition --task-definition web \
	--query taskDefinition.revision --output text)"
expect "by ARN" 2 "$(ecs describe-task-definition --task-definition "arn:aws:ecs:us-east-1:$account:task-definition/web:2" \
	--query taskDefinition.revision --output text)"
expect "tags with --include TAGS" "team	core" "$(ecs describe-task-definition --task-definition web:3 --include TAGS \
	--query 'tags[0].[key, value]' --output text)"
expect "no tags without --include" "None" "$(ecs describe-task-definition --task-definition web:3 \
	--query tags --output text)"
expect_error ClientException "Unable to describe task definition." describe-task-definition --task-definition nope
expect_error ClientException "Unable to describe task definition." describe-task-definition --task-definition web:99

step "list"
expect "list --family-prefix web" "arn:aws:ecs:us-east-1:$account:task-definition/web:1	arn:aws:ecs:us-east-1:$account:task-definition/web:2	arn:aws:ecs:us-east-1:$account:task-definition/web:3" \
	"$(ecs list-task-definitions --family-prefix web --query taskDefinitionArns --output text)"
expect "list --sort DESC, first" "arn:aws:ecs:us-east-1:$account:task-definition/web:3" \
	"$(ecs list-task-definitions --sort DESC --query 'taskDefinitionArns[0]' --output text)"
# --page-size 1 makes the CLI follow nextToken through one page per ARN;
# each ARN must arrive exactly once.
expect "list with --page-size 1" "api:1 web:1 web:2 web:3" "$(ecs list-task-definitions --page-size 1 \
	--query 'taskDefinitionArns[]' --output text | tr -s '\t' '\n' | sed 's|.*/||' | sort | paste -sd ' ')"
expect "families" "api	web" "$(ecs list-task-definition-families --query families --output text)"
expect_error InvalidParameterException "Invalid nextToken: the token is malformed or was issued for a different request." \
	list-task-definitions --starting-token garbage

step "tags"
web3="arn:aws:ecs:us-east-1:$account:task-definition/web:3"
ecs tag-resource --resource-arn "$web3" --tags key=team,value=platform key=env,value=prod
expect "tags after tag-resource" "env=prod team=platform" "$(ecs list-tags-for-resource --resource-arn "$web3" \
	--query 'sort_by(tags, &key)[].join(`=`, [key, value])' --output text | tr '\t' ' ')"
ecs untag-resource --resource-arn "$web3" --tag-keys env
expect "tags after untag-resource" "team=platform" "$(ecs list-tags-for-resource --resource-arn "$web3" \
	--query 'tags[].join(`=`, [key, value])' --output text)"
expect_error InvalidParameterException "The ARN provided is invalid." list-tags-for-resource --resource-arn not-an-arn

step "deregister"
expect "deregister web:1" INACTIVE "$(ecs deregister-task-definition --task-definition web:1 \
	--query taskDefinition.status --output text)"
expect "deregister web:1 again" INACTIVE "$(ecs deregister-task-definition --task-definition web:1 \
	--query taskDefinition.status --output text)"
expect "web:1 has deregisteredAt" True "$(ecs describe-task-definition --task-definition web:1 \
	--query 'taskDefinition.deregisteredAt != null' --output text)"
expect_error ClientException "Revision is missing." deregister-task-definition --task-definition web
expect_error ClientException "Invalid revision number. Number: foo" deregister-task-definition --task-definition web:foo
expect_error ClientException "The specified task definition does not exist." deregister-task-definition --task-definition web:99
expect "INACTIVE list" "arn:aws:ecs:us-east-1:$account:task-definition/web:1" \
	"$(ecs list-task-definitions --status INACTIVE --query taskDefinitionArns --output text)"

step "delete"
expect "delete web:1 and web:2 (ACTIVE)" "DELETE_IN_PROGRESS	web:2	The specified task definition is still in ACTIVE status. Please deregister the target and try again." \
	"$(ecs delete-task-definitions --task-definitions web:1 web:2 \
		--query '[taskDefinitions[0].status, failures[0].arn, failures[0].reason]' --output text)"
expect "DELETE_IN_PROGRESS list" "arn:aws:ecs:us-east-1:$account:task-definition/web:1" \
	"$(ecs list-task-definitions --status DELETE_IN_PROGRESS --query taskDefinitionArns --output text)"
expect "web:1 deleteRequestedAt" True "$(ecs describe-task-definition --task-definition web:1 \
	--query 'taskDefinition.deleteRequestedAt != null' --output text)"
out=$(ecs deregister-task-definition --task-definition web:1 2>&1) && fail "deregistering DELETE_IN_PROGRESS succeeded: $out"
[[ $out == *"(ClientException)"*"in the process of being deleted"* ]] || fail "deregister web:1: $out"
pass "deregister of DELETE_IN_PROGRESS refused: ${out##*: }"

step "accounts and regions are isolated"
expect "families of account 111111111111" "" "$(AWS_ACCESS_KEY_ID=111111111111 ecs list-task-definition-families \
	--query families --output text)"
expect "register in eu-west-1 as 111111111111" "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:1" \
	"$(AWS_ACCESS_KEY_ID=111111111111 ecs register-task-definition --region eu-west-1 --family web \
		--container-definitions "$app" --query taskDefinition.taskDefinitionArn --output text)"
expect "default account still at web:3" 3 "$(ecs describe-task-definition --task-definition web \
	--query taskDefinition.revision --output text)"

step "operations not built yet"
expect_error UnsupportedFeatureException "ecsd does not implement DescribeDaemon yet; see docs/compat.md for the operations it supports." \
	describe-daemon --daemon-arn arn:aws:ecs:us-east-1:000000000000:daemon/prod/agent

step "restart on the same data directory"
stop_ecsd
pass "ecsd stopped"
start_ecsd "$work/data"
expect "web:1 after restart" DELETE_IN_PROGRESS "$(ecs describe-task-definition --task-definition web:1 \
	--query taskDefinition.status --output text)"
expect "tags after restart" "team=platform" "$(ecs list-tags-for-resource --resource-arn "$web3" \
	--query 'tags[].join(`=`, [key, value])' --output text)"
expect "next revision continues" 4 "$(ecs register-task-definition --family web --container-definitions "$app" \
	--query taskDefinition.revision --output text)"

printf '\nPASS: AWS CLI task-definition lifecycle against ecsd\n'
