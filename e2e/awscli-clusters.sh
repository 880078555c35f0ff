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

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
ecsd_pid=""

cleanup() {
	if [[ -n $ecsd_pid ]]; then
		kill "$ecsd_pid" 2>/dev/null || true
		wait "$ecsd_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
pass() { printf '   ok: %s\n' "$*"; }
fail() {
	printf '   FAIL: %s\n' "$*" >&2
	if [[ -f $work/ecsd.log ]]; then
		printf '   --- ecsd log (last 20 lines) ---\n' >&2
		tail -n 20 "$work/ecsd.log" >&2
	fi
	exit 1
}

# expect DESCRIPTION WANT GOT
expect() {
	if [[ $3 == "$2" ]]; then
		pass "$1 = $2"
	else
		fail "$1: want [$2], got [$3]"
	fi
}

# The AWS CLI must talk to ecsd and nothing else: no profiles, no instance
# metadata, no retries hiding a failure.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECS AWS_REGION
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
# A key that is not a 12-digit account id maps to ecsd's default account.
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
account=000000000000

# ecs ARGS... runs one ECS command against ecsd.
ecs() { aws ecs --endpoint-url "$endpoint" "$@"; }

# expect_error CODE MESSAGE ARGS... runs an ECS command that must fail with
# exactly this error code and message.
expect_error() {
	local code=$1 msg=$2 out rc
	shift 2
	set +e
	out=$(ecs "$@" 2>&1)
	rc=$?
	set -e
	if [[ $rc -eq 0 ]]; then
		fail "aws ecs $1 succeeded, want $code: $out"
	fi
	local want="An error occurred ($code) when calling the "
	if [[ $out != *"$want"*": $msg"* ]]; then
		fail "aws ecs $1: want '$code: $msg' (exit != 0), got exit $rc: $out"
	fi
	pass "aws ecs $1 -> exit $rc, $code: $msg"
}

# start_ecsd DATA_DIR starts ecsd on a free port chosen by the kernel and
# waits until /health answers.
start_ecsd() {
	: >"$work/ecsd.log"
	"$ECSD_BIN" --listen 127.0.0.1:0 --data-dir "$1" --log-level info --deletion-delay 1h \
		2>>"$work/ecsd.log" &
	ecsd_pid=$!
	local addr="" deadline=$((SECONDS + 15))
	while [[ -z $addr ]]; do
		if ((SECONDS > deadline)) || ! kill -0 "$ecsd_pid" 2>/dev/null; then
			fail "ecsd did not start"
		fi
		addr=$(sed -n 's/.*msg="ecsd listening" addr=\([0-9.:]*\).*/\1/p' "$work/ecsd.log" | head -n 1)
		[[ -n $addr ]] || sleep 0.05
	done
	endpoint="http://$addr"
	until curl -fsS "$endpoint/health" >/dev/null 2>&1; do
		((SECONDS <= deadline)) || fail "ecsd at $endpoint never became healthy"
		sleep 0.05
	done
	pass "ecsd $ecsd_pid listening on $endpoint"
}

stop_ecsd() {
	kill -TERM "$ecsd_pid"
	wait "$ecsd_pid" || fail "ecsd exited with status $?"
	ecsd_pid=""
}

step "build ecsd"
if [[ -z ${ECSD_BIN:-} ]]; then
	(cd "$root" && go build -o "$work/ecsd" ./cmd/ecsd)
	ECSD_BIN=$work/ecsd
fi
pass "using $ECSD_BIN; $(aws --version 2>&1)"

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

step "attributes (ecsd has no container instances)"
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
