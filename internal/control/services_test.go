package control_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

func svcReq(name, td string, desired int32) control.CreateServiceRequest {
	return control.CreateServiceRequest{Service: types.Service{ServiceName: ptr(name), TaskDefinition: ptr(td), DesiredCount: desired}}
}

func mustCreateService(t *testing.T, c *control.Control, r control.CreateServiceRequest) types.Service {
	t.Helper()
	s, err := c.CreateService(context.Background(), alice, r)
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return s
}

func registerAwsvpc(t *testing.T, c *control.Control, family string) types.TaskDefinition {
	t.Helper()
	td := def(family)
	td.NetworkMode = types.NetworkModeAwsvpc
	td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	td.Cpu, td.Memory = ptr("256"), ptr("512")
	out, err := c.RegisterTaskDefinition(context.Background(), alice, td, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var awsvpc = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

func TestCreateService(t *testing.T) {
	c, clk := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	s := mustCreateService(t, c, control.CreateServiceRequest{Service: types.Service{
		ServiceName: ptr("web"), TaskDefinition: ptr("web"), DesiredCount: 2,
		Tags: []types.Tag{{Key: ptr("k"), Value: ptr("v")}},
	}})
	now := clk.Now().Truncate(time.Millisecond)
	d := s.Deployments[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"serviceArn", *s.ServiceArn, "arn:aws:ecs:eu-west-2:123456789012:service/default/web"},
		{"clusterArn", *s.ClusterArn, "arn:aws:ecs:eu-west-2:123456789012:cluster/default"},
		{"status", *s.Status, "ACTIVE"},
		{"desiredCount", s.DesiredCount, int32(2)},
		{"taskDefinition", *s.TaskDefinition, arn(alice, "web", 1)},
		{"launchType", s.LaunchType, types.LaunchTypeEc2},
		{"schedulingStrategy", s.SchedulingStrategy, types.SchedulingStrategyReplica},
		{"deploymentController", s.DeploymentController.Type, types.DeploymentControllerTypeEcs},
		{"maximumPercent", *s.DeploymentConfiguration.MaximumPercent, int32(200)},
		{"minimumHealthyPercent", *s.DeploymentConfiguration.MinimumHealthyPercent, int32(100)},
		{"circuit breaker", *s.DeploymentConfiguration.DeploymentCircuitBreaker, types.DeploymentCircuitBreaker{}},
		{"propagateTags", s.PropagateTags, types.PropagateTagsNone},
		{"roleArn", *s.RoleArn, "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"},
		{"createdBy", *s.CreatedBy, alice.ARN},
		{"createdAt", *s.CreatedAt, now},
		{"healthCheckGracePeriodSeconds", *s.HealthCheckGracePeriodSeconds, int32(0)},
		{"events", len(s.Events), 0},
		{"deployments", len(s.Deployments), 1},
		{"deployment status", *d.Status, "PRIMARY"},
		{"deployment desiredCount", d.DesiredCount, int32(0)},
		{"deployment rolloutState", d.RolloutState, types.DeploymentRolloutStateInProgress},
		{"deployment reason", *d.RolloutStateReason, "ECS deployment " + *d.Id + " in progress."},
		{"deployment id form", len(*d.Id) == len("ecs-svc/")+19 && strings.HasPrefix(*d.Id, "ecs-svc/"), true},
		{"tags not echoed", len(s.Tags), 0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	// One service deployment and one service revision, consistent with
	// deployments[].
	sds, _, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web"})
	if err != nil || len(sds) != 1 || sds[0].Status != types.ServiceDeploymentStatusInProgress || *s.CurrentServiceDeployment != *sds[0].ServiceDeploymentArn {
		t.Fatalf("service deployments %+v %v", sds, err)
	}
	wantRev := "arn:aws:ecs:eu-west-2:123456789012:service-revision/default/web/" + strings.TrimPrefix(*d.Id, "ecs-svc/")
	if *sds[0].TargetServiceRevisionArn != wantRev || *s.CurrentServiceRevisions[0].Arn != wantRev {
		t.Fatalf("revision %s / %s, want %s", *sds[0].TargetServiceRevisionArn, *s.CurrentServiceRevisions[0].Arn, wantRev)
	}
	revs, fails, err := c.DescribeServiceRevisions(ctx, alice, []string{wantRev})
	if err != nil || len(fails) != 0 || *revs[0].TaskDefinition != arn(alice, "web", 1) || *revs[0].ContainerImages[0].Image != "nginx" {
		t.Fatalf("revision %+v %v %v", revs, fails, err)
	}
	tagged, _, err := c.DescribeServices(ctx, alice, "", []string{"web"}, true)
	if err != nil || len(tagged[0].Tags) != 1 {
		t.Fatalf("tags %+v %v", tagged, err)
	}
}

func TestCreateServiceFargate(t *testing.T) {
	c, _ := newControl(t)
	registerAwsvpc(t, c, "api")
	r := svcReq("api", "api", 1)
	r.Service.LaunchType = types.LaunchTypeFargate
	r.Service.NetworkConfiguration = awsvpc
	s := mustCreateService(t, c, r)
	d := s.Deployments[0]
	if *s.PlatformVersion != "LATEST" || *s.PlatformFamily != "Linux" || *d.PlatformVersion != "1.4.0" || d.NetworkConfiguration.AwsvpcConfiguration.Subnets[0] != "subnet-1" {
		t.Fatalf("service %v %v, deployment %v %+v", *s.PlatformVersion, *s.PlatformFamily, *d.PlatformVersion, d.NetworkConfiguration)
	}
}

func TestCreateServiceErrors(t *testing.T) {
	c, clk := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 2)
	registerAwsvpc(t, c, "api")
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:1"); err != nil {
		t.Fatal(err)
	}
	mustCreateService(t, c, svcReq("taken", "web:2", 0))
	withStrategy := svcReq("x", "web:2", 1)
	withStrategy.Service.LaunchType = types.LaunchTypeFargate
	withStrategy.Service.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Weight: 1}}
	daemonStrategy := svcReq("x", "web:2", 0)
	daemonStrategy.Service.SchedulingStrategy = types.SchedulingStrategyDaemon
	daemonStrategy.Service.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Weight: 1}}
	daemonFargate := svcReq("x", "web:2", 0)
	daemonFargate.Service.SchedulingStrategy = types.SchedulingStrategyDaemon
	daemonFargate.Service.LaunchType = types.LaunchTypeFargate
	noNetwork := svcReq("x", "api", 1)
	extraNetwork := svcReq("x", "web:2", 1)
	extraNetwork.Service.NetworkConfiguration = awsvpc
	fargateEC2Only := svcReq("x", "web:2", 1)
	fargateEC2Only.Service.LaunchType = types.LaunchTypeFargate
	ec2PlatformVersion := svcReq("x", "web:2", 1)
	ec2PlatformVersion.Service.LaunchType = types.LaunchTypeEc2
	ec2PlatformVersion.Service.PlatformVersion = ptr("1.4.0")
	otherCluster := svcReq("x", "web:2", 1)
	otherCluster.Cluster = "nope"
	noTD := svcReq("x", "", 1)
	noTD.Service.TaskDefinition = nil

	tests := []struct {
		name      string
		r         control.CreateServiceRequest
		code, msg string
	}{
		{"name taken", svcReq("taken", "web:2", 1), "InvalidParameterException", "Creation of service was not idempotent."},
		{"bad name", svcReq("no spaces", "web:2", 1), "InvalidParameterException", `Service name must match ^[a-zA-Z0-9\-_]{1,255}$, but was no spaces`},
		{"INACTIVE revision", svcReq("x", "web:1", 1), "ClientException", "TaskDefinition is inactive"},
		{"unknown revision", svcReq("x", "web:9", 1), "ClientException", "TaskDefinition not found."},
		{"unknown family", svcReq("x", "nothing", 1), "ClientException", "TaskDefinition not found."},
		{"launch type and strategy", withStrategy, "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."},
		{"DAEMON with a strategy", daemonStrategy, "InvalidParameterException", "Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy."},
		{"platformVersion on EC2", ec2PlatformVersion, "InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
		{"DAEMON on Fargate", daemonFargate, "InvalidParameterException", "Fargate does not support the DAEMON scheduling strategy."},
		{"awsvpc without network", noNetwork, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"network without awsvpc", extraNetwork, "InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition."},
		{"FARGATE revision needed", fargateEC2Only, "InvalidParameterException", "Task definition does not support launch_type FARGATE."},
		{"unknown cluster", otherCluster, "ClusterNotFoundException", "Cluster not found."},
		{"no task definition", noTD, "InvalidParameterException", "TaskDefinition must be specified."},
		{"negative desired count", svcReq("x", "web:2", -1), "InvalidParameterException", "desiredCount must be greater than or equal to 0."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateService(ctx, alice, tt.r)
			wantError(t, err, tt.code, tt.msg)
		})
	}

	// Within the consistency window an INACTIVE revision may still be
	// deployed.
	c.InactiveGrace = 10 * time.Minute
	mustCreateService(t, c, svcReq("graced", "web:1", 1))
	clk.Advance(11 * time.Minute)
	_, err := c.CreateService(ctx, alice, svcReq("late", "web:1", 1))
	wantError(t, err, "ClientException", "TaskDefinition is inactive")
}

func TestCreateServiceDaemonAndExternal(t *testing.T) {
	c, _ := newControl(t)
	register(t, c, alice, "web", 1)
	r := svcReq("agent", "web", 5)
	r.Service.SchedulingStrategy = types.SchedulingStrategyDaemon
	s := mustCreateService(t, c, r)
	if s.DesiredCount != 0 || *s.DeploymentConfiguration.MinimumHealthyPercent != 0 || *s.DeploymentConfiguration.MaximumPercent != 100 {
		t.Fatalf("daemon: desired %d, %d/%d", s.DesiredCount, *s.DeploymentConfiguration.MinimumHealthyPercent, *s.DeploymentConfiguration.MaximumPercent)
	}
	ext := svcReq("ext", "", 2)
	ext.Service.TaskDefinition = nil
	ext.Service.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}
	s = mustCreateService(t, c, ext)
	if len(s.Deployments) != 0 || s.TaskDefinition != nil || s.DesiredCount != 2 {
		t.Fatalf("external: %+v", s)
	}
	_, err := c.UpdateService(context.Background(), alice, control.UpdateServiceRequest{Service: "ext", TaskDefinition: ptr("web")})
	wantError(t, err, "InvalidParameterException", "Unable to update task definition on services with a EXTERNAL deployment controller. Use AWS CodeDeploy to trigger a new deployment.")
}

func TestUpdateService(t *testing.T) {
	c, clk := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 2)
	created := mustCreateService(t, c, svcReq("web", "web:1", 1))
	firstID := *created.Deployments[0].Id

	// desiredCount alone is no deployment.
	s, err := c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", DesiredCount: ptr(int32(4))})
	if err != nil || s.DesiredCount != 4 || len(s.Deployments) != 1 {
		t.Fatalf("desiredCount: %+v %v", s.Deployments, err)
	}
	// Neither is the same revision again, or a deployment-configuration
	// change; the configuration merges.
	clk.Advance(time.Second)
	s, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", TaskDefinition: ptr("web:1"),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: ptr(int32(50))}})
	if err != nil || len(s.Deployments) != 1 || *s.DeploymentConfiguration.MinimumHealthyPercent != 50 || *s.DeploymentConfiguration.MaximumPercent != 200 {
		t.Fatalf("same revision: %+v %+v %v", s.Deployments, s.DeploymentConfiguration, err)
	}
	// A new revision is a new PRIMARY deployment; the previous one drains.
	clk.Advance(time.Second)
	s, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", TaskDefinition: ptr("web")})
	if err != nil || len(s.Deployments) != 2 || *s.Deployments[0].TaskDefinition != arn(alice, "web", 2) ||
		*s.Deployments[1].Id != firstID || *s.Deployments[1].Status != "ACTIVE" || *s.TaskDefinition != arn(alice, "web", 2) {
		t.Fatalf("new revision: %+v %v", s.Deployments, err)
	}
	sds, _, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web"})
	if err != nil || len(sds) != 2 || sds[0].Status != "IN_PROGRESS" || sds[1].Status != "STOPPED" {
		t.Fatalf("service deployments: %+v %v", sds, err)
	}
	full, _, err := c.DescribeServiceDeployments(ctx, alice, []string{*sds[0].ServiceDeploymentArn})
	if err != nil || len(full[0].SourceServiceRevisions) != 1 || !strings.HasSuffix(*full[0].SourceServiceRevisions[0].Arn, strings.TrimPrefix(firstID, "ecs-svc/")) {
		t.Fatalf("source revisions: %+v %v", full, err)
	}
	// forceNewDeployment redeploys the same revision.
	clk.Advance(time.Second)
	s, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", ForceNewDeployment: true})
	if err != nil || len(s.Deployments) != 3 || *s.Deployments[0].TaskDefinition != arn(alice, "web", 2) {
		t.Fatalf("forceNewDeployment: %+v %v", s.Deployments, err)
	}
	// A deregistered revision: the desired count may change, the revision
	// may not be named, a forced deployment keeps it.
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", DesiredCount: ptr(int32(1))}); err != nil {
		t.Fatalf("desiredCount on an INACTIVE revision: %v", err)
	}
	if _, err := c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", ForceNewDeployment: true}); err != nil {
		t.Fatalf("forceNewDeployment on an INACTIVE revision: %v", err)
	}
	_, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", TaskDefinition: ptr("web:2")})
	wantError(t, err, "ClientException", "TaskDefinition is inactive")
	_, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "nope", DesiredCount: ptr(int32(1))})
	wantError(t, err, "ServiceNotFoundException", "Service not found.")
	_, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Cluster: "nope", Service: "web"})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestDeleteService(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	mustCreateService(t, c, svcReq("web", "web", 2))
	_, err := c.DeleteService(ctx, alice, "", "web", false)
	wantError(t, err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	s, err := c.DeleteService(ctx, alice, "", "web", true)
	if err != nil || *s.Status != "DRAINING" || s.DesiredCount != 0 {
		t.Fatalf("DeleteService: %v %v", s.Status, err)
	}
	_, err = c.DeleteService(ctx, alice, "", "web", true)
	wantError(t, err, "ServiceNotActiveException", "Service was not ACTIVE.")
	_, err = c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", DesiredCount: ptr(int32(1))})
	wantError(t, err, "ServiceNotActiveException", "Service was not ACTIVE.")
	_, err = c.CreateService(ctx, alice, svcReq("web", "web", 1))
	wantError(t, err, "InvalidParameterException", "Creation of service was not idempotent.")
	// Still describable while DRAINING, no longer listed.
	got, _, err := c.DescribeServices(ctx, alice, "", []string{"web"}, false)
	if err != nil || len(got) != 1 || *got[0].Status != "DRAINING" {
		t.Fatalf("DescribeServices: %+v %v", got, err)
	}
	arns, _, err := c.ListServices(ctx, alice, control.ListServicesRequest{})
	if err != nil || len(arns) != 0 {
		t.Fatalf("ListServices: %v %v", arns, err)
	}
	sds, _, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web"})
	if err != nil || sds[0].Status != types.ServiceDeploymentStatusStopped {
		t.Fatalf("deployment of a deleted service: %+v %v", sds, err)
	}
	// A DAEMON service needs no scaling down first.
	r := svcReq("agent", "web", 0)
	r.Service.SchedulingStrategy = types.SchedulingStrategyDaemon
	mustCreateService(t, c, r)
	if _, err := c.DeleteService(ctx, alice, "", "agent", false); err != nil {
		t.Fatalf("DeleteService of a DAEMON service: %v", err)
	}
}

func TestDescribeServices(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	mustCreateService(t, c, svcReq("web", "web", 0))
	svcs, fails, err := c.DescribeServices(ctx, alice, "default", []string{
		"web",
		"arn:aws:ecs:eu-west-2:123456789012:service/default/web",
		"missing",
		"arn:aws:ecs:eu-west-2:123456789012:service/default/gone",
		"arn:aws:ecs:eu-west-2:123456789012:service/other/web",
	}, false)
	if err != nil || len(svcs) != 2 {
		t.Fatalf("DescribeServices: %d services, %v", len(svcs), err)
	}
	want := []string{
		"arn:aws:ecs:eu-west-2:123456789012:service/missing",
		"arn:aws:ecs:eu-west-2:123456789012:service/default/gone",
		"arn:aws:ecs:eu-west-2:123456789012:service/other/web",
	}
	for i, f := range fails {
		if *f.Arn != want[i] || *f.Reason != "MISSING" || f.Detail != nil {
			t.Errorf("failure %d: %s %s", i, *f.Arn, *f.Reason)
		}
	}
	if len(fails) != 3 {
		t.Fatalf("%d failures", len(fails))
	}
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprint("s", i)
	}
	_, _, err = c.DescribeServices(ctx, alice, "", many, false)
	wantError(t, err, "InvalidParameterException", "service names can have at most 10 items.")
	_, _, err = c.DescribeServices(ctx, alice, "", nil, false)
	wantError(t, err, "InvalidParameterException", "Services cannot be empty.")
	_, _, err = c.DescribeServices(ctx, alice, "nope", []string{"web"}, false)
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestListServices(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	registerAwsvpc(t, c, "api")
	for i := range 5 {
		mustCreateService(t, c, svcReq(fmt.Sprintf("s%d", i), "web", 0))
	}
	fg := svcReq("fargate", "api", 0)
	fg.Service.LaunchType, fg.Service.NetworkConfiguration = types.LaunchTypeFargate, awsvpc
	mustCreateService(t, c, fg)
	if _, err := c.DeleteService(ctx, alice, "", "s4", false); err != nil {
		t.Fatal(err)
	}
	var all []string
	next := ""
	for page := 0; ; page++ {
		arns, tok, err := c.ListServices(ctx, alice, control.ListServicesRequest{MaxResults: ptr(int32(2)), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		if len(arns) > 2 || page > 5 {
			t.Fatalf("page %d: %v", page, arns)
		}
		all = append(all, arns...)
		if tok == "" {
			break
		}
		next = tok
	}
	want := []string{"fargate", "s0", "s1", "s2", "s3"}
	for i, a := range all {
		if a != ecs.ServiceARN(alice.Region, alice.Account, "default", want[i]) {
			t.Errorf("item %d: %s", i, a)
		}
	}
	if len(all) != len(want) {
		t.Fatalf("listed %v", all)
	}
	arns, _, err := c.ListServices(ctx, alice, control.ListServicesRequest{LaunchType: types.LaunchTypeFargate})
	if err != nil || len(arns) != 1 || !strings.HasSuffix(arns[0], "/fargate") {
		t.Fatalf("launchType filter: %v %v", arns, err)
	}
	arns, _, err = c.ListServices(ctx, alice, control.ListServicesRequest{SchedulingStrategy: types.SchedulingStrategyDaemon})
	if err != nil || len(arns) != 0 {
		t.Fatalf("schedulingStrategy filter: %v %v", arns, err)
	}
	_, _, err = c.ListServices(ctx, alice, control.ListServicesRequest{NextToken: "garbage"})
	wantError(t, err, "InvalidParameterException", "Invalid nextToken: the token is malformed or was issued for a different request.")
}

func TestListServicesByNamespace(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	r := svcReq("web", "web", 0)
	r.Extras.ServiceConnectConfiguration = &types.ServiceConnectConfiguration{Enabled: true, Namespace: ptr("shop")}
	s := mustCreateService(t, c, r)
	arns, _, err := c.ListServicesByNamespace(ctx, alice, "shop", nil, "")
	if err != nil || len(arns) != 1 || arns[0] != *s.ServiceArn {
		t.Fatalf("by name: %v %v", arns, err)
	}
	arns, _, err = c.ListServicesByNamespace(ctx, alice, "arn:aws:servicediscovery:eu-west-2:123456789012:namespace/shop", nil, "")
	if err != nil || len(arns) != 1 {
		t.Fatalf("by ARN: %v %v", arns, err)
	}
	_, _, err = c.ListServicesByNamespace(ctx, alice, "nowhere", nil, "")
	wantError(t, err, "NamespaceNotFoundException", "Failed to retrieve namespace for nowhere")
}

// markDeployment writes a service deployment's status straight into the
// store, standing in for the scheduler.
func markDeployment(t *testing.T, c *control.Control, arn string, status types.ServiceDeploymentStatus) {
	t.Helper()
	err := c.Store.Update(context.Background(), func(tx store.Tx) error {
		rec, err := tx.ServiceDeployment(alice.Scope, arn)
		if err != nil {
			return err
		}
		sd, err := records.ServiceDeployment(rec)
		if err != nil {
			return err
		}
		sd.Status = status
		if rec, err = records.FromServiceDeployment(alice.Scope, sd); err != nil {
			return err
		}
		return tx.PutServiceDeployment(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServiceDeploymentsAPI(t *testing.T) {
	c, clk := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 2)
	created := mustCreateService(t, c, svcReq("web", "web:1", 1))
	first := *created.CurrentServiceDeployment
	markDeployment(t, c, first, types.ServiceDeploymentStatusSuccessful)
	clk.Advance(time.Minute)
	upd, err := c.UpdateService(ctx, alice, control.UpdateServiceRequest{Service: "web", TaskDefinition: ptr("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	second := *upd.CurrentServiceDeployment

	// Filters and pages.
	got, _, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web",
		Statuses: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}})
	if err != nil || len(got) != 1 || *got[0].ServiceDeploymentArn != first {
		t.Fatalf("status filter: %+v %v", got, err)
	}
	after := clk.Now().Add(-30 * time.Second)
	got, _, err = c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web", CreatedAt: &types.CreatedAt{After: &after}})
	if err != nil || len(got) != 1 || *got[0].ServiceDeploymentArn != second {
		t.Fatalf("createdAt filter: %+v %v", got, err)
	}
	// A client that notes the time just before its UpdateService finds the
	// deployment even in the same millisecond.
	same := clk.Now()
	got, _, err = c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web", CreatedAt: &types.CreatedAt{After: &same}})
	if err != nil || len(got) != 1 {
		t.Fatalf("createdAt.after of the same millisecond: %+v %v", got, err)
	}
	page1, tok, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web", MaxResults: ptr(int32(1))})
	if err != nil || len(page1) != 1 || tok == "" || *page1[0].ServiceDeploymentArn != second {
		t.Fatalf("page 1: %+v %q %v", page1, tok, err)
	}
	page2, tok, err := c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "web", MaxResults: ptr(int32(1)), NextToken: tok})
	if err != nil || len(page2) != 1 || tok != "" || *page2[0].ServiceDeploymentArn != first {
		t.Fatalf("page 2: %+v %q %v", page2, tok, err)
	}
	_, _, err = c.ListServiceDeployments(ctx, alice, control.ListServiceDeploymentsRequest{Service: "nope"})
	wantError(t, err, "ServiceNotFoundException", "Service not found.")

	// Describe: live counts, MISSING failures, limits.
	unknown := "arn:aws:ecs:eu-west-2:123456789012:service-deployment/default/web/nope"
	sds, fails, err := c.DescribeServiceDeployments(ctx, alice, []string{second, unknown})
	if err != nil || len(sds) != 1 || len(fails) != 1 || *fails[0].Arn != unknown || *fails[0].Reason != "MISSING" {
		t.Fatalf("DescribeServiceDeployments: %+v %+v %v", sds, fails, err)
	}
	_, _, err = c.DescribeServiceDeployments(ctx, alice, make([]string, 21))
	wantError(t, err, "InvalidParameterException", "Service Deployment ARN count cannot exceed 20")
	_, _, err = c.DescribeServiceRevisions(ctx, alice, nil)
	wantError(t, err, "InvalidParameterException", "Service Revision ARNs can not be empty.")

	// StopServiceDeployment rolls back to the revision that completed.
	if _, err := c.StopServiceDeployment(ctx, alice, unknown, ""); err == nil {
		t.Fatal("stopping an unknown deployment succeeded")
	}
	_, err = c.StopServiceDeployment(ctx, alice, first, "")
	wantError(t, err, "ConflictException", "The service deployment is not in progress and cannot be stopped.")
	if _, err := c.StopServiceDeployment(ctx, alice, second, types.StopServiceDeploymentStopTypeRollback); err != nil {
		t.Fatalf("StopServiceDeployment: %v", err)
	}
	s, _, err := c.DescribeServices(ctx, alice, "", []string{"web"}, false)
	if err != nil || *s[0].Deployments[0].Id != *created.Deployments[0].Id || *s[0].TaskDefinition != arn(alice, "web", 1) ||
		s[0].Deployments[1].RolloutState != types.DeploymentRolloutStateFailed {
		t.Fatalf("after the rollback: %+v %v", s[0].Deployments, err)
	}
	sds, _, _ = c.DescribeServiceDeployments(ctx, alice, []string{second})
	if sds[0].Status != types.ServiceDeploymentStatusRollbackInProgress || sds[0].Rollback == nil {
		t.Fatalf("stopped deployment: %+v", sds[0])
	}
}

func TestTaskSets(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 2)
	ext := svcReq("ext", "", 4)
	ext.Service.TaskDefinition = nil
	ext.Service.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}
	mustCreateService(t, c, ext)
	mustCreateService(t, c, svcReq("ecs", "web", 1))
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:1"); err != nil {
		t.Fatal(err)
	}

	_, err := c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:1"})
	wantError(t, err, "ClientException", "TaskDefinition is inactive")
	_, err = c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:7"})
	wantError(t, err, "ClientException", "TaskDefinition not found.")
	_, err = c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ecs", TaskDefinition: "web:2"})
	wantError(t, err, "InvalidParameterException", control.MsgTaskSetsNeedExternal)
	_, err = c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:2", Scale: &types.Scale{Value: 101}})
	wantError(t, err, "InvalidParameterException", control.MsgScaleOutOfRange)

	first, err := c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:2", ExternalID: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	if *first.Status != "PRIMARY" || first.ComputedDesiredCount != 4 || first.Scale.Value != 100 || first.Scale.Unit != "PERCENT" ||
		*first.TaskSetArn != "arn:aws:ecs:eu-west-2:123456789012:task-set/default/ext/"+*first.Id || !strings.HasPrefix(*first.Id, "ecs-svc/") {
		t.Fatalf("first task set %+v", first)
	}
	second, err := c.CreateTaskSet(ctx, alice, control.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:2", Scale: &types.Scale{Value: 30, Unit: "PERCENT"}})
	if err != nil || *second.Status != "ACTIVE" || second.ComputedDesiredCount != 2 { // 1.2 rounds up
		t.Fatalf("second task set %+v %v", second, err)
	}
	ts, err := c.UpdateTaskSet(ctx, alice, "", "ext", *second.TaskSetArn, &types.Scale{Value: 50, Unit: "PERCENT"})
	if err != nil || ts.ComputedDesiredCount != 2 || ts.Scale.Value != 50 {
		t.Fatalf("UpdateTaskSet %+v %v", ts, err)
	}
	ts, err = c.UpdateServicePrimaryTaskSet(ctx, alice, "", "ext", *second.Id)
	if err != nil || *ts.Status != "PRIMARY" {
		t.Fatalf("UpdateServicePrimaryTaskSet %+v %v", ts, err)
	}
	sets, fails, err := c.DescribeTaskSets(ctx, alice, "", "ext", []string{*first.Id, "ecs-svc/0"}, false)
	if err != nil || len(sets) != 1 || *sets[0].Status != "ACTIVE" || len(fails) != 1 || *fails[0].Reason != "MISSING" {
		t.Fatalf("DescribeTaskSets %+v %+v %v", sets, fails, err)
	}
	_, err = c.DeleteTaskSet(ctx, alice, "", "ext", *first.Id, false)
	wantError(t, err, "InvalidParameterException", control.MsgTaskSetScaledAbove0)
	ts, err = c.DeleteTaskSet(ctx, alice, "", "ext", *first.Id, true)
	if err != nil || *ts.Status != "DRAINING" || ts.ComputedDesiredCount != 0 {
		t.Fatalf("DeleteTaskSet %+v %v", ts, err)
	}
	_, err = c.UpdateTaskSet(ctx, alice, "", "ext", "ecs-svc/0", &types.Scale{Value: 1})
	wantError(t, err, "TaskSetNotFoundException", control.MsgTaskSetNotFound)
	all, _, err := c.DescribeTaskSets(ctx, alice, "", "ext", nil, true)
	if err != nil || len(all) != 2 || all[0].Tags == nil {
		t.Fatalf("all task sets %+v %v", all, err)
	}
}
