package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TargetPrefix is the X-Amz-Target namespace of the ECS API.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// LogsTargetPrefix is the X-Amz-Target namespace of the CloudWatch Logs
// API; seeds name its operations "logs:Operation".
const LogsTargetPrefix = "Logs_20140328."

// LogsOp names a CloudWatch Logs operation among the seeds' keys.
func LogsOp(op string) string { return "logs:" + op }

// Target is the X-Amz-Target of a seed key: an ECS operation, or a
// CloudWatch Logs one written "logs:Operation".
func Target(op string) string {
	if name, ok := strings.CutPrefix(op, "logs:"); ok {
		return LogsTargetPrefix + name
	}
	return TargetPrefix + op
}

// Names the fixtures create, so that seeds reach past "not found" into
// each operation's real validation and writes.
const (
	FixtureCluster = "fz"
	FixtureFamily  = "fz"
	FixtureService = "fz-svc"
)

const fixtureTaskDef = `{"family":"fz","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",` +
	`"containerDefinitions":[{"name":"app","image":"busybox:1.36","essential":true,"portMappings":[{"containerPort":80,"protocol":"tcp"}],` +
	`"environment":[{"name":"A","value":"1"}],"healthCheck":{"command":["CMD-SHELL","true"],"interval":30,"timeout":5,"retries":3}}],` +
	`"tags":[{"key":"team","value":"fuzz"}]}`

const awsvpc = `"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"],"securityGroups":["sg-1"],"assignPublicIp":"DISABLED"}}`

// Seeds holds, for every operation ecsd implements, request bodies of the
// shapes the AWS CLI and SDKs send: the seed corpus of FuzzOperations and
// the starting points of the bad-input campaign. Most succeed against the
// fixtures; some are valid shapes that name things that do not exist.
// internal/e2e's TestSeedsCoverEveryOperation fails when an operation gains
// a handler without a seed here.
var Seeds = map[string][]string{
	"CreateCluster": {
		`{"clusterName":"fz2","tags":[{"key":"k","value":"v"}],"settings":[{"name":"containerInsights","value":"enabled"}],` +
			`"capacityProviders":["FARGATE"],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1,"base":0}]}`,
		`{}`,
	},
	"CreateService": {
		`{"cluster":"fz","serviceName":"fz-new","taskDefinition":"fz","desiredCount":1,"launchType":"FARGATE",` + awsvpc +
			`,"deploymentConfiguration":{"maximumPercent":200,"minimumHealthyPercent":100,"deploymentCircuitBreaker":{"enable":true,"rollback":true}},` +
			`"tags":[{"key":"k","value":"v"}],"propagateTags":"SERVICE","enableECSManagedTags":true,"clientToken":"tok-1"}`,
	},
	"DeleteAccountSetting": {`{"name":"serviceLongArnFormat"}`},
	"DeleteAttributes": {
		`{"cluster":"fz","attributes":[{"name":"stack","targetType":"container-instance","targetId":"arn:aws:ecs:us-east-1:000000000000:container-instance/fz/0123456789abcdef0123456789abcdef"}]}`,
	},
	"DeleteCluster": {`{"cluster":"fz-gone"}`},
	"DeleteService": {`{"cluster":"fz","service":"fz-gone","force":true}`},
	"CreateTaskSet": {
		`{"cluster":"fz","service":"fz-svc","taskDefinition":"fz:1","externalId":"ext-1","launchType":"FARGATE",` + awsvpc +
			`,"scale":{"value":50,"unit":"PERCENT"},"clientToken":"tok-2","tags":[{"key":"k","value":"v"}]}`,
	},
	"DeleteTaskSet":    {`{"cluster":"fz","service":"fz-svc","taskSet":"ecs-svc/1234567890123456789","force":true}`},
	"DescribeTaskSets": {`{"cluster":"fz","service":"fz-svc","taskSets":["ecs-svc/1234567890123456789"],"include":["TAGS"]}`},
	"UpdateServicePrimaryTaskSet": {
		`{"cluster":"fz","service":"fz-svc","primaryTaskSet":"ecs-svc/1234567890123456789"}`,
	},
	"UpdateTaskSet":            {`{"cluster":"fz","service":"fz-svc","taskSet":"ecs-svc/1234567890123456789","scale":{"value":100,"unit":"PERCENT"}}`},
	"DeleteTaskDefinitions":    {`{"taskDefinitions":["fz:99","arn:aws:ecs:us-east-1:000000000000:task-definition/fz:98"]}`},
	"DeregisterTaskDefinition": {`{"taskDefinition":"fz:97"}`},
	"DescribeCapacityProviders": {
		`{"capacityProviders":["FARGATE","FARGATE_SPOT","fz-cp"],"include":["TAGS"],"maxResults":10}`,
	},
	"CreateCapacityProvider": {
		`{"name":"fz-cp","autoScalingGroupProvider":{"autoScalingGroupArn":"arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1b2c3d4e-5678-90ab-cdef-000000000001:autoScalingGroupName/fz-asg","managedScaling":{"status":"ENABLED","targetCapacity":100,"minimumScalingStepSize":1,"maximumScalingStepSize":10,"instanceWarmupPeriod":0},"managedTerminationProtection":"ENABLED","managedDraining":"ENABLED"},"tags":[{"key":"ecsd:asg-max-size","value":"3"}]}`,
	},
	"UpdateCapacityProvider": {
		`{"name":"fz-cp","autoScalingGroupProvider":{"managedScaling":{"status":"ENABLED","targetCapacity":90},"managedDraining":"DISABLED"}}`,
	},
	"DeleteCapacityProvider": {`{"capacityProvider":"fz-cp"}`},
	"DescribeClusters": {
		`{"clusters":["fz","default","arn:aws:ecs:us-east-1:000000000000:cluster/missing"],"include":["SETTINGS","STATISTICS","TAGS","ATTACHMENTS","CONFIGURATIONS"]}`,
	},
	"DescribeServiceDeployments": {
		`{"serviceDeploymentArns":["arn:aws:ecs:us-east-1:000000000000:service-deployment/fz/fz-svc/abcdefghijklmnopqrstu"]}`,
	},
	"DescribeServiceRevisions": {
		`{"serviceRevisionArns":["arn:aws:ecs:us-east-1:000000000000:service-revision/fz/fz-svc/1234567890123456789"]}`,
	},
	"DescribeServices":       {`{"cluster":"fz","services":["fz-svc","missing"],"include":["TAGS"]}`},
	"DescribeTaskDefinition": {`{"taskDefinition":"fz","include":["TAGS"]}`, `{"taskDefinition":"arn:aws:ecs:us-east-1:000000000000:task-definition/fz:1"}`},
	"DescribeTasks":          {`{"cluster":"fz","tasks":["0123456789abcdef0123456789abcdef"],"include":["TAGS"]}`},
	"ExecuteCommand":         {`{"cluster":"fz","task":"0123456789abcdef0123456789abcdef","container":"app","command":"/bin/sh","interactive":true}`},
	"ListAccountSettings":    {`{"effectiveSettings":true,"maxResults":10}`, `{"name":"containerInsights","value":"enabled"}`},
	"ListAttributes":         {`{"cluster":"fz","targetType":"container-instance","attributeName":"stack","maxResults":10}`},
	"ListClusters":           {`{"maxResults":10}`},
	"ListServiceDeployments": {`{"cluster":"fz","service":"fz-svc","status":["SUCCESSFUL","IN_PROGRESS"],"createdAt":{"after":1700000000,"before":4102444800}}`},
	"ListServices":           {`{"cluster":"fz","launchType":"FARGATE","schedulingStrategy":"REPLICA","maxResults":10}`},
	"ListServicesByNamespace": {
		`{"namespace":"arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-0123456789abcdef","maxResults":10}`,
	},
	"ListTagsForResource":        {`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/fz"}`},
	"ListTaskDefinitionFamilies": {`{"familyPrefix":"fz","status":"ALL","maxResults":10}`},
	"ListTaskDefinitions":        {`{"familyPrefix":"fz","status":"ACTIVE","sort":"DESC","maxResults":10}`},
	"ListTasks": {
		`{"cluster":"fz","serviceName":"fz-svc","desiredStatus":"RUNNING","launchType":"FARGATE","maxResults":10}`,
		`{"cluster":"fz","family":"fz","startedBy":"fuzz"}`,
	},
	"PutAccountSetting":        {`{"name":"containerInsights","value":"enabled"}`},
	"PutAccountSettingDefault": {`{"name":"awsvpcTrunking","value":"enabled"}`},
	"PutAttributes": {
		`{"cluster":"fz","attributes":[{"name":"stack","value":"prod","targetType":"container-instance","targetId":"arn:aws:ecs:us-east-1:000000000000:container-instance/fz/0123456789abcdef0123456789abcdef"}]}`,
	},
	"PutClusterCapacityProviders": {
		`{"cluster":"fz","capacityProviders":["FARGATE","FARGATE_SPOT"],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1,"base":0}]}`,
	},
	"RegisterTaskDefinition": {
		fixtureTaskDef,
		`{"family":"fz-ec2","networkMode":"bridge","containerDefinitions":[{"name":"web","image":"nginx","memory":128,"cpu":64,` +
			`"portMappings":[{"containerPort":80,"hostPort":0}],"links":["db"],"dependsOn":[{"containerName":"db","condition":"START"}]},` +
			`{"name":"db","image":"postgres","memoryReservation":256,"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":4096}]}],` +
			`"volumes":[{"name":"data","host":{"sourcePath":"/data"}}],"placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}]}`,
	},
	"RunTask": {
		`{"cluster":"fz","taskDefinition":"fz","count":1,"launchType":"FARGATE",` + awsvpc + `,"startedBy":"fuzz",` +
			`"overrides":{"containerOverrides":[{"name":"app","environment":[{"name":"B","value":"2"}],"command":["sh","-c","true"]}],"cpu":"256","memory":"512"},` +
			`"tags":[{"key":"k","value":"v"}],"propagateTags":"TASK_DEFINITION","enableECSManagedTags":true,"group":"fuzz"}`,
	},
	"StartTask": {
		`{"cluster":"fz","taskDefinition":"fz","containerInstances":["arn:aws:ecs:us-east-1:000000000000:container-instance/fz/0123456789abcdef0123456789abcdef"],"startedBy":"fuzz"}`,
	},
	"RegisterContainerInstance": {
		`{"cluster":"fz","instanceIdentityDocument":"{\"instanceId\":\"i-0fz\",\"availabilityZone\":\"us-east-1a\",\"instanceType\":\"m5.large\",\"imageId\":\"ami-1\",\"architecture\":\"x86_64\",\"region\":\"us-east-1\"}",` +
			`"instanceIdentityDocumentSignature":"c2ln","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":2048},{"name":"MEMORY","type":"INTEGER","integerValue":3705},` +
			`{"name":"PORTS","type":"STRINGSET","stringSetValue":["22","2375","2376","51678","51679"]},{"name":"PORTS_UDP","type":"STRINGSET","stringSetValue":[]}],` +
			`"versionInfo":{"agentVersion":"1.86.0","agentHash":"a1b2c3d4","dockerVersion":"DockerVersion: 25.0.6"},` +
			`"attributes":[{"name":"ecs.os-type","value":"linux"},{"name":"com.amazonaws.ecs.capability.docker-remote-api.1.18"},{"name":"stack","value":"fuzz"}],` +
			`"platformDevices":[{"id":"GPU-1","type":"GPU"}],"tags":[{"key":"k","value":"v"}]}`,
	},
	"DescribeContainerInstances": {
		`{"cluster":"fz","containerInstances":["arn:aws:ecs:us-east-1:000000000000:container-instance/fz/0123456789abcdef0123456789abcdef","0123456789abcdef0123456789abcdef"],"include":["TAGS","CONTAINER_INSTANCE_HEALTH"]}`,
	},
	"ListContainerInstances": {
		`{"cluster":"fz","filter":"attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and runningTasksCount >= 0","status":"ACTIVE","maxResults":10}`,
		`{"cluster":"fz","filter":"not(task:group == service:fz-svc) || registeredAt > 2018-06-18T22:28:28Z"}`,
	},
	"DeregisterContainerInstance":   {`{"cluster":"fz","containerInstance":"0123456789abcdef0123456789abcdef","force":true}`},
	"UpdateContainerInstancesState": {`{"cluster":"fz","containerInstances":["0123456789abcdef0123456789abcdef"],"status":"DRAINING"}`},
	"UpdateContainerAgent":          {`{"cluster":"fz","containerInstance":"0123456789abcdef0123456789abcdef"}`},
	"DiscoverPollEndpoint":          {`{"cluster":"fz"}`},
	"SubmitTaskStateChange": {
		`{"cluster":"fz","task":"0123456789abcdef0123456789abcdef","status":"RUNNING","reason":"","pullStartedAt":1700000000,"pullStoppedAt":1700000001,` +
			`"containers":[{"containerName":"app","status":"RUNNING","runtimeId":"abc","networkBindings":[{"bindIP":"0.0.0.0","containerPort":80,"hostPort":32768,"protocol":"tcp"}]}],` +
			`"attachments":[{"attachmentArn":"arn:aws:ecs:us-east-1:000000000000:attachment/0123","status":"ATTACHED"}]}`,
	},
	"SubmitContainerStateChange": {
		`{"cluster":"fz","task":"0123456789abcdef0123456789abcdef","containerName":"app","runtimeId":"abc","status":"STOPPED","exitCode":0,"reason":"done"}`,
	},
	"SubmitAttachmentStateChanges": {
		`{"cluster":"fz","attachments":[{"attachmentArn":"arn:aws:ecs:us-east-1:000000000000:attachment/0123","status":"ATTACHED"}]}`,
	},
	"StopServiceDeployment": {
		`{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:000000000000:service-deployment/fz/fz-svc/abcdefghijklmnopqrstu","stopType":"ROLLBACK"}`,
	},
	"StopTask": {`{"cluster":"fz","task":"0123456789abcdef0123456789abcdef","reason":"fuzz"}`},
	"UpdateTaskProtection": {
		`{"cluster":"fz","tasks":["0123456789abcdef0123456789abcdef"],"protectionEnabled":true,"expiresInMinutes":60}`,
		`{"cluster":"fz","tasks":["0123456789abcdef0123456789abcdef"],"protectionEnabled":false}`,
	},
	"GetTaskProtection":     {`{"cluster":"fz","tasks":["0123456789abcdef0123456789abcdef"]}`},
	"TagResource":           {`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/fz","tags":[{"key":"a","value":"b"}]}`},
	"UntagResource":         {`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/fz","tagKeys":["a"]}`},
	"UpdateCluster":         {`{"cluster":"fz","settings":[{"name":"containerInsights","value":"disabled"}],"configuration":{"executeCommandConfiguration":{"logging":"DEFAULT"}}}`},
	"UpdateClusterSettings": {`{"cluster":"fz","settings":[{"name":"containerInsights","value":"enabled"}]}`},
	"UpdateService": {
		`{"cluster":"fz","service":"fz-svc","desiredCount":2,"deploymentConfiguration":{"maximumPercent":200,"minimumHealthyPercent":50}}`,
		`{"cluster":"fz","service":"fz-svc","taskDefinition":"fz:1","forceNewDeployment":true,` + awsvpc + `}`,
	},
}

// Post sends one AWS JSON 1.1 request and returns the status, headers and
// body of the answer.
func Post(ctx context.Context, hc *http.Client, url, op string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", Target(op))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// Fixtures creates what the seeds name: cluster fz, task definition fz:1,
// service fz-svc with one task, and a container instance registered as the
// ECS agent registers one.
func Fixtures(ctx context.Context, hc *http.Client, url string) error {
	for _, step := range []struct{ op, body string }{
		{"CreateCluster", `{"clusterName":"fz"}`},
		{"RegisterTaskDefinition", fixtureTaskDef},
		{"CreateService", `{"cluster":"fz","serviceName":"fz-svc","taskDefinition":"fz:1","desiredCount":1,"launchType":"FARGATE",` + awsvpc + `}`},
		{"RegisterContainerInstance", Seeds["RegisterContainerInstance"][0]},
		{LogsOp("CreateLogGroup"), `{"logGroupName":"/fz"}`},
		{LogsOp("CreateLogStream"), `{"logGroupName":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef"}`},
		{LogsOp("PutLogEvents"), `{"logGroupName":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef","logEvents":[` +
			`{"timestamp":` + strconv.FormatInt(time.Now().UnixMilli()-1000, 10) + `,"message":"GET / 200"},` +
			`{"timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"message":"ERROR boom"}]}`},
	} {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		status, _, b, err := Post(ctx, hc, url, step.op, []byte(step.body))
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", step.op, err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("%s: status %d: %s", step.op, status, b)
		}
	}
	return nil
}
