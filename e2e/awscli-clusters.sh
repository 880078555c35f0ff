#!/usr/bin/env bash
# Drive ecsd's clusters, capacity providers, account settings and attributes
# with the real AWS CLI, the way a user would: create, describe, list,
# update, tag and delete clusters; read and change account settings; restart.
#
#   e2e/awscli-clusters.sh                      # builds ecsd from this checkout
#   ECSD_BIN=/path/to/ecsd e2e/awscli-clusters.sh
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
arn=arn:aws:ecs:us-east-1:$account

step "no clusters yet"
expect "list-clusters" "" "$(ecs list-clusters --query clusterArns --output text)"
expect "describe-clusters without names is the default cluster, MISSING" "$arn:cluster/default	MISSING" \
	"$(ecs describe-clusters --query 'failures[0].[arn, reason]' --output text)"

step "create-cluster"
expect "create web" "$arn:cluster/web	ACTIVE	enhanced	FARGATE,FARGATE_SPOT	FARGATE	team=web" \
	"$(ecs create-cluster --cluster-name web --tags key=team,value=web \
		--settings name=containerInsights,value=enhanced \
		--capacity-providers FARGATE FARGATE_SPOT \
		--default-capacity-provider-strategy capacityProvider=FARGATE,base=1,weight=1 \
		--query 'cluster.[clusterArn, status, settings[0].value, join(`,`, capacityProviders),
			defaultCapacityProviderStrategy[0].capacityProvider, tags[0].join(`=`, [key, value])]' --output text)"
expect "create web again answers the existing cluster" "$arn:cluster/web	0" \
	"$(ecs create-cluster --cluster-name web --query 'cluster.[clusterArn, length(settings)]' --output text)"
expect "create with no name is the default cluster" "$arn:cluster/default	disabled" \
	"$(ecs create-cluster --query 'cluster.[clusterArn, settings[0].value]' --output text)"
expect_error InvalidParameterException 'Cluster must match ^[a-zA-Z0-9\-_]{1,255}$, but was web app' \
	create-cluster --cluster-name 'web app'
expect_error InvalidParameterException "Invalid setting 'value'" \
	create-cluster --cluster-name x --settings name=containerInsights,value=on
expect_error ClientException "The specified capacity provider does not exist. Specify a valid name or ARN and try again." \
	create-cluster --cluster-name x --capacity-providers my-asg

step "describe-clusters"
expect "without include: empty settings, tags and statistics" "0	0	0	0	0" \
	"$(ecs describe-clusters --clusters web --query 'clusters[0].[length(settings), length(tags),
		length(statistics), runningTasksCount, activeServicesCount]' --output text)"
expect "with include" "enhanced	team	16" "$(ecs describe-clusters --clusters "$arn:cluster/web" \
	--include SETTINGS TAGS STATISTICS --query 'clusters[0].[settings[0].value, tags[0].key, length(statistics)]' --output text)"
expect "unknown cluster" "$arn:cluster/nope	MISSING" \
	"$(ecs describe-clusters --clusters web nope --query 'failures[0].[arn, reason]' --output text)"

step "list-clusters"
ecs create-cluster --cluster-name batch >/dev/null
expect "list with --page-size 1" "batch default web" "$(ecs list-clusters --page-size 1 \
	--query 'clusterArns[]' --output text | tr -s '\t' '\n' | sed 's|.*/||' | paste -sd ' ')"

step "update-cluster, update-cluster-settings, put-cluster-capacity-providers"
expect "update-cluster-settings" "disabled" "$(ecs update-cluster-settings --cluster web \
	--settings name=containerInsights,value=disabled --query 'cluster.settings[0].value' --output text)"
expect "update-cluster --service-connect-defaults" "web-ns" "$(ecs update-cluster --cluster web \
	--service-connect-defaults namespace=web-ns --query 'cluster.serviceConnectDefaults.namespace' --output text)"
expect "put-cluster-capacity-providers" "FARGATE_SPOT	FARGATE_SPOT	3" "$(ecs put-cluster-capacity-providers --cluster web \
	--capacity-providers FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=3 \
	--query 'cluster.[join(`,`, capacityProviders), defaultCapacityProviderStrategy[0].capacityProvider,
		defaultCapacityProviderStrategy[0].weight]' --output text)"
expect_error InvalidParameterException "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again." \
	put-cluster-capacity-providers --cluster web --capacity-providers FARGATE_SPOT \
	--default-capacity-provider-strategy capacityProvider=FARGATE,weight=1
expect_error ClusterNotFoundException "Cluster not found." update-cluster-settings --cluster nope \
	--settings name=containerInsights,value=enabled

step "describe-capacity-providers"
expect "the built-in providers" "$arn:capacity-provider/FARGATE	FARGATE	ACTIVE	$arn:capacity-provider/FARGATE_SPOT	FARGATE_SPOT	ACTIVE" \
	"$(ecs describe-capacity-providers --query 'capacityProviders[].[capacityProviderArn, name, status]' --output text | paste -sd '\t')"
expect "an unknown one" "$arn:capacity-provider/my-asg	MISSING" \
	"$(ecs describe-capacity-providers --capacity-providers FARGATE my-asg --query 'failures[0].[arn, reason]' --output text)"

step "tags on a cluster"
ecs tag-resource --resource-arn "$arn:cluster/web" --tags key=env,value=prod
ecs untag-resource --resource-arn "$arn:cluster/web" --tag-keys team
expect "list-tags-for-resource" "env=prod" "$(ecs list-tags-for-resource --resource-arn "$arn:cluster/web" \
	--query 'tags[].join(`=`, [key, value])' --output text)"
expect_error ResourceNotFoundException "The specified resource wasn't found." \
	list-tags-for-resource --resource-arn "$arn:cluster/nope"

step "account settings"
expect "effective defaults, by name" "disabled	7	enabled	on" "$(ecs list-account-settings --effective-settings \
	--query 'settings[?name==`containerInsights` || name==`serviceLongArnFormat` || name==`tagResourceAuthorization` ||
		name==`fargateTaskRetirementWaitPeriod`].value' --output text)"
expect "put-account-setting-default" "containerInsights	enabled	arn:aws:iam::$account:root" \
	"$(ecs put-account-setting-default --name containerInsights --value enabled \
		--query 'setting.[name, value, principalArn]' --output text)"
expect "put-account-setting for a user" "enhanced	arn:aws:iam::$account:user/MyUser" \
	"$(ecs put-account-setting --name containerInsights --value enhanced --principal-arn "arn:aws:iam::$account:user/MyUser" \
		--query 'setting.[value, principalArn]' --output text)"
expect "the user's effective setting" "enhanced" "$(ecs list-account-settings --name containerInsights --effective-settings \
	--principal-arn "arn:aws:iam::$account:user/MyUser" --query 'settings[0].value' --output text)"
expect "new clusters take containerInsights from the account" "enabled" "$(ecs create-cluster --cluster-name insights \
	--query 'cluster.settings[0].value' --output text)"
expect "delete-account-setting" "enhanced" "$(ecs delete-account-setting --name containerInsights \
	--principal-arn "arn:aws:iam::$account:user/MyUser" --query 'setting.value' --output text)"
expect_error InvalidParameterException "Invalid setting 'value'" put-account-setting --name taskLongArnFormat --value ENABLED

step "attributes of an instance that is not registered"
expect_error TargetNotFoundException "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific." \
	put-attributes --cluster web --attributes name=stack,value=prod,targetType=container-instance,targetId=0123456789abcdef0123456789abcdef
expect "list-attributes" "0" "$(ecs list-attributes --cluster web --target-type container-instance \
	--query 'length(attributes)' --output text)"

step "delete-cluster"
expect "delete web" INACTIVE "$(ecs delete-cluster --cluster web --query cluster.status --output text)"
expect "web stays describable" INACTIVE "$(ecs describe-clusters --clusters web --query 'clusters[0].status' --output text)"
expect "delete web again" INACTIVE "$(ecs delete-cluster --cluster web --query cluster.status --output text)"
expect_error ClusterNotFoundException "The referenced cluster was inactive." update-cluster-settings --cluster web \
	--settings name=containerInsights,value=enabled
expect_error InvalidParameterException "The specified cluster is inactive. Specify an active cluster and try again." \
	tag-resource --resource-arn "$arn:cluster/web" --tags key=k,value=v
expect_error ClusterNotFoundException "Cluster not found." delete-cluster --cluster nope

step "restart on the same data directory"
stop_ecsd
pass "ecsd stopped"
start_ecsd "$work/data"
expect "web after restart" INACTIVE "$(ecs describe-clusters --clusters web --query 'clusters[0].status' --output text)"
expect "account default after restart" "enabled" "$(ecs list-account-settings --name containerInsights \
	--effective-settings --query 'settings[0].value' --output text)"
expect "create web again" "ACTIVE	0" "$(ecs create-cluster --cluster-name web \
	--query 'cluster.[status, length(tags)]' --output text)"

printf '\nPASS: AWS CLI clusters, capacity providers, account settings and attributes against ecsd\n'
