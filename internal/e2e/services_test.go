package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/server"
)

// withServiceHealthyAfter sets how long a service task must run before
// the scheduler counts it healthy.
func withServiceHealthyAfter(d time.Duration) option {
	return func(c *server.Config) { c.ServiceHealthyAfter = d }
}

// stableWaiter makes the SDK's service waiters poll every 100ms instead of
// every 15s.
func stableWaiter(c *ecs.Client) *ecs.ServicesStableWaiter {
	return ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
}

func waitServicesStable(t *testing.T, c *ecs.Client, cluster string, services ...string) *ecs.DescribeServicesOutput {
	t.Helper()
	out, err := stableWaiter(c).WaitForOutput(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services}, 30*time.Second)
	if err != nil {
		t.Fatalf("services-stable waiter for %v: %v", services, err)
	}
	return out
}

func svcCluster(t *testing.T, c *ecs.Client, name string) {
	t.Helper()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
}

func createService(t *testing.T, c *ecs.Client, in *ecs.CreateServiceInput) types.Service {
	t.Helper()
	out, err := c.CreateService(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateService %s: %v", aws.ToString(in.ServiceName), err)
	}
	return *out.Service
}

func describeService(t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

func serviceTasks(t *testing.T, c *ecs.Client, cluster, service string, status types.DesiredStatus) []types.Task {
	t.Helper()
	list, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: status})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return out.Tasks
}

func eventMessages(s types.Service) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func TestServiceReachesSteadyState(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	td := register(t, c, "web")

	created := createService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(3),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}, PropagateTags: types.PropagateTagsService,
	})
	if *created.Status != "ACTIVE" || *created.TaskDefinition != *td.TaskDefinitionArn || len(created.Deployments) != 1 ||
		created.Deployments[0].RolloutState != "IN_PROGRESS" || *created.DeploymentConfiguration.MaximumPercent != 200 ||
		*created.DeploymentConfiguration.MinimumHealthyPercent != 100 || created.DeploymentConfiguration.DeploymentCircuitBreaker.Enable ||
		created.LaunchType != "EC2" || *created.ServiceArn != "arn:aws:ecs:us-east-1:000000000000:service/prod/web" {
		t.Fatalf("CreateService answered %+v", created)
	}

	out := waitServicesStable(t, c, "prod", "web")
	s := out.Services[0]
	if s.RunningCount != 3 {
		t.Fatalf("stable service: running %d, %+v", s.RunningCount, s.Deployments)
	}
	// services-stable needs only runningCount == desiredCount and one
	// deployment (on AWS too): the rollout may complete, and the
	// steady-state event be written, in a later scheduler pass.
	waitFor(t, 30*time.Second, "the deployment to complete and the steady-state event", func() error {
		s = describeService(t, c, "prod", "web")
		if s.RunningCount != 3 || len(s.Deployments) != 1 || s.Deployments[0].RolloutState != "COMPLETED" ||
			aws.ToString(s.Deployments[0].RolloutStateReason) != "ECS deployment "+*s.Deployments[0].Id+" completed." {
			return fmt.Errorf("running %d, %+v", s.RunningCount, s.Deployments)
		}
		if ev := eventMessages(s); len(ev) == 0 || ev[0] != "(service web) has reached a steady state." {
			return fmt.Errorf("events %q", ev)
		}
		return nil
	})
	tasks := serviceTasks(t, c, "prod", "web", types.DesiredStatusRunning)
	if len(tasks) != 3 {
		t.Fatalf("%d running tasks", len(tasks))
	}
	for _, task := range tasks {
		if *task.Group != "service:web" || *task.StartedBy != *s.Deployments[0].Id {
			t.Fatalf("task group %s startedBy %s", *task.Group, *task.StartedBy)
		}
		tags, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: task.TaskArn})
		if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
			t.Fatalf("propagated tags %+v %v", tags, err)
		}
	}

	// The service-deployment API agrees with deployments[], as Terraform's
	// wait_for_steady_state reads it.
	list, err := c.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil || len(list.ServiceDeployments) != 1 {
		t.Fatalf("ListServiceDeployments: %+v %v", list, err)
	}
	waitFor(t, 10*time.Second, "the service deployment to succeed", func() error {
		d, err := c.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{*list.ServiceDeployments[0].ServiceDeploymentArn}})
		if err != nil {
			return err
		}
		if st := d.ServiceDeployments[0].Status; st != types.ServiceDeploymentStatusSuccessful {
			return fmt.Errorf("status %s", st)
		}
		return nil
	})
	revs, err := c.DescribeServiceRevisions(t.Context(), &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{*list.ServiceDeployments[0].TargetServiceRevisionArn}})
	if err != nil || len(revs.ServiceRevisions) != 1 || *revs.ServiceRevisions[0].TaskDefinition != *td.TaskDefinitionArn {
		t.Fatalf("DescribeServiceRevisions: %+v %v", revs, err)
	}
	if *s.CurrentServiceDeployment != *list.ServiceDeployments[0].ServiceDeploymentArn || *s.CurrentServiceRevisions[0].Arn != *revs.ServiceRevisions[0].ServiceRevisionArn {
		t.Fatalf("current deployment %s / revisions %+v", *s.CurrentServiceDeployment, s.CurrentServiceRevisions)
	}

	// Describe and list.
	desc, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web", "nope"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil || len(desc.Services) != 1 || len(desc.Services[0].Tags) != 1 || len(desc.Failures) != 1 ||
		*desc.Failures[0].Arn != "arn:aws:ecs:us-east-1:000000000000:service/nope" || *desc.Failures[0].Reason != "MISSING" {
		t.Fatalf("DescribeServices: %+v %v", desc, err)
	}
	ls, err := c.ListServices(t.Context(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
	if err != nil || !slices.Equal(ls.ServiceArns, []string{*s.ServiceArn}) {
		t.Fatalf("ListServices: %+v %v", ls, err)
	}
	_, err = c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantAPIError[*types.InvalidParameterException](t, err, "Creation of service was not idempotent.")
	_, err = c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("ec2pv"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2, PlatformVersion: aws.String("LATEST")})
	wantAPIError[*types.InvalidParameterException](t, err, "The platform version must be null when specifying an EC2 launch type.")
}

func TestServiceRollingUpdate(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	register(t, c, "web")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2)})
	waitServicesStable(t, c, "prod", "web")
	old := serviceTasks(t, c, "prod", "web", types.DesiredStatusRunning)
	td2 := register(t, c, "web")

	upd, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	d := upd.Service.Deployments
	if len(d) != 2 || *d[0].Status != "PRIMARY" || *d[0].TaskDefinition != *td2.TaskDefinitionArn || *d[1].Status != "ACTIVE" ||
		d[0].RolloutState != "IN_PROGRESS" || d[1].RolloutState != "COMPLETED" {
		t.Fatalf("deployments after UpdateService: %+v", d)
	}
	newID := *d[0].Id
	out := waitServicesStable(t, c, "prod", "web")
	s := out.Services[0]
	if len(s.Deployments) != 1 || *s.Deployments[0].Id != newID || *s.TaskDefinition != *td2.TaskDefinitionArn {
		t.Fatalf("after the rollout: %+v", s.Deployments)
	}
	var arns []string
	for _, o := range old {
		arns = append(arns, *o.TaskArn)
	}
	waitFor(t, 10*time.Second, "the old tasks to stop", func() error {
		desc, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: arns})
		if err != nil {
			return err
		}
		for _, task := range desc.Tasks {
			if *task.LastStatus != "STOPPED" {
				return fmt.Errorf("task %s is %s", *task.TaskArn, *task.LastStatus)
			}
			if task.StopCode != types.TaskStopCodeServiceSchedulerInitiated || *task.StoppedReason != "Scaling activity initiated by (deployment "+newID+")" {
				return fmt.Errorf("task stopped with %s %q", task.StopCode, *task.StoppedReason)
			}
		}
		return nil
	})
	for _, task := range serviceTasks(t, c, "prod", "web", types.DesiredStatusRunning) {
		if *task.TaskDefinitionArn != *td2.TaskDefinitionArn {
			t.Fatalf("task %s runs %s", *task.TaskArn, *task.TaskDefinitionArn)
		}
	}
	list, err := c.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil || len(list.ServiceDeployments) != 2 || !strings.HasSuffix(*list.ServiceDeployments[0].TargetServiceRevisionArn, strings.TrimPrefix(newID, "ecs-svc/")) {
		t.Fatalf("ListServiceDeployments: %+v %v", list, err)
	}

	// forceNewDeployment makes a new PRIMARY deployment of the same
	// revision.
	upd, err = c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil || len(upd.Service.Deployments) != 2 || *upd.Service.Deployments[0].TaskDefinition != *td2.TaskDefinitionArn || *upd.Service.Deployments[0].Id == newID {
		t.Fatalf("forceNewDeployment: %+v %v", upd, err)
	}
	waitServicesStable(t, c, "prod", "web")
}

func TestServiceOnDeregisteredRevision(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	td := register(t, c, "web")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	waitServicesStable(t, c, "prod", "web")
	deregister(t, c, *td.TaskDefinitionArn)

	// The service keeps running and still scales, with the INACTIVE
	// revision.
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatalf("UpdateService desiredCount on a deregistered revision: %v", err)
	}
	out := waitServicesStable(t, c, "prod", "web")
	if out.Services[0].RunningCount != 3 {
		t.Fatalf("running %d", out.Services[0].RunningCount)
	}
	for _, task := range serviceTasks(t, c, "prod", "web", types.DesiredStatusRunning) {
		if *task.TaskDefinitionArn != *td.TaskDefinitionArn {
			t.Fatalf("task runs %s", *task.TaskDefinitionArn)
		}
	}
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "scaling down", func() error {
		if n := len(serviceTasks(t, c, "prod", "web", types.DesiredStatusRunning)); n != 1 {
			return fmt.Errorf("%d tasks", n)
		}
		return nil
	})

	// Naming the INACTIVE revision is refused, with ECS's words.
	_, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn})
	wantAPIError[*types.ClientException](t, err, "TaskDefinition is inactive")
	_, err = c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("other"), TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	wantAPIError[*types.ClientException](t, err, "TaskDefinition is inactive")
	_, err = c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("other"), TaskDefinition: aws.String("nothing:1"), DesiredCount: aws.Int32(1)})
	wantAPIError[*types.ClientException](t, err, "TaskDefinition not found.")
}

func TestServiceInactiveGrace(t *testing.T) {
	t.Parallel()
	e := startServer(t, withInactiveGrace(5*time.Minute))
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	td := register(t, c, "web")
	deregister(t, c, *td.TaskDefinitionArn)
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	register(t, c, "web")
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn}); err != nil {
		t.Fatalf("UpdateService within the grace window: %v", err)
	}
	waitServicesStable(t, c, "prod", "web")
}

func TestServiceCircuitBreakerRollsBack(t *testing.T) {
	t.Parallel()
	// Tasks must run a second to count as healthy, so a container that
	// exits at once is a failure however the passes fall.
	e := startServer(t, withServiceHealthyAfter(time.Second))
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	register(t, c, "web")
	created := createService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	})
	goodID := *created.Deployments[0].Id
	waitServicesStable(t, c, "prod", "web")
	waitFor(t, 10*time.Second, "the first deployment to complete", func() error {
		if s := describeService(t, c, "prod", "web"); s.Deployments[0].RolloutState != "COMPLETED" {
			return fmt.Errorf("rollout %s", s.Deployments[0].RolloutState)
		}
		return nil
	})

	bad := container("app")
	bad.Environment = []types.KeyValuePair{
		{Name: aws.String("ECSD_SIM_RUN_SECONDS"), Value: aws.String("0")},
		{Name: aws.String("ECSD_SIM_EXIT_CODE"), Value: aws.String("1")},
	}
	td2, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{bad}})
	if err != nil {
		t.Fatal(err)
	}
	upd, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: td2.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	badID := *upd.Service.Deployments[0].Id

	var s types.Service
	waitFor(t, 30*time.Second, "the circuit breaker to roll back", func() error {
		s = describeService(t, c, "prod", "web")
		if len(s.Deployments) != 1 || *s.Deployments[0].Id != goodID || s.Deployments[0].RolloutState != "COMPLETED" {
			return fmt.Errorf("deployments %+v", s.Deployments)
		}
		return nil
	})
	ev := eventMessages(s)
	if !slices.Contains(ev, "(service web) (deployment "+badID+") deployment failed: tasks failed to start.") ||
		!slices.Contains(ev, "(service web) rolling back to deployment "+goodID+".") {
		t.Fatalf("events %q", ev)
	}
	if *s.TaskDefinition != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" {
		t.Fatalf("service runs %s after the rollback", *s.TaskDefinition)
	}
	sd, err := c.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{*upd.Service.CurrentServiceDeployment}})
	if err != nil || sd.ServiceDeployments[0].Status != types.ServiceDeploymentStatusRollbackSuccessful ||
		sd.ServiceDeployments[0].DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		t.Fatalf("service deployment: %+v %v", sd, err)
	}
	// The failed tasks stopped on their own, as failures.
	stopped := serviceTasks(t, c, "prod", "web", types.DesiredStatusStopped)
	failed := 0
	for _, task := range stopped {
		if *task.TaskDefinitionArn == *td2.TaskDefinition.TaskDefinitionArn && task.StopCode == types.TaskStopCodeEssentialContainerExited {
			failed++
		}
	}
	if failed < 3 {
		t.Fatalf("%d failed tasks of the bad revision, want at least the threshold 3", failed)
	}
}

func TestServiceDeleteAndReuseName(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	register(t, c, "web")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	waitServicesStable(t, c, "prod", "web")

	_, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	wantAPIError[*types.InvalidParameterException](t, err, "The service cannot be stopped while it is scaled above 0.")
	del, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil || *del.Service.Status != "DRAINING" {
		t.Fatalf("DeleteService: %+v %v", del, err)
	}
	// Deleted services leave ListServices at once.
	if ls, err := c.ListServices(t.Context(), &ecs.ListServicesInput{Cluster: aws.String("prod")}); err != nil || len(ls.ServiceArns) != 0 {
		t.Fatalf("ListServices after delete: %+v %v", ls, err)
	}
	_, err = c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantAPIError[*types.ServiceNotActiveException](t, err, "Service was not ACTIVE.")

	w := ecs.NewServicesInactiveWaiter(c, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}, 30*time.Second); err != nil {
		t.Fatalf("services-inactive waiter: %v", err)
	}
	if s := describeService(t, c, "prod", "web"); *s.Status != "INACTIVE" {
		t.Fatalf("status %s", *s.Status)
	}
	for _, task := range serviceTasks(t, c, "prod", "web", types.DesiredStatusStopped) {
		if task.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Fatalf("task %s stopped with %s", *task.TaskArn, task.StopCode)
		}
	}
	_, err = c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("nope")})
	wantAPIError[*types.ServiceNotFoundException](t, err, "Service not found.")

	// The name is free again once the service is INACTIVE.
	again := createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	if *again.Status != "ACTIVE" || len(again.Events) != 0 {
		t.Fatalf("re-created service: %+v", again)
	}
	waitServicesStable(t, c, "prod", "web")
	list, err := c.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil || len(list.ServiceDeployments) != 1 {
		t.Fatalf("the new service lists the old one's deployments: %+v %v", list, err)
	}
}

func TestServiceKeepsDeleteInProgressRevision(t *testing.T) {
	t.Parallel()
	e := startServer(t, withDeletion(0, 50*time.Millisecond))
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	td := register(t, c, "web")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	waitServicesStable(t, c, "prod", "web")
	deregister(t, c, *td.TaskDefinitionArn)
	if _, err := c.DeleteTaskDefinitions(t.Context(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{*td.TaskDefinitionArn}}); err != nil {
		t.Fatal(err)
	}
	// A revision nothing uses is purged by the next sweep; once it is
	// gone, a sweep has passed over the service's revision too.
	unused := register(t, c, "unused")
	deregister(t, c, *unused.TaskDefinitionArn)
	if _, err := c.DeleteTaskDefinitions(t.Context(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{*unused.TaskDefinitionArn}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a sweep to purge the unused revision", func() error {
		if _, err := describe(t.Context(), c, *unused.TaskDefinitionArn); err == nil {
			return fmt.Errorf("still describable")
		}
		return nil
	})
	out, err := describe(t.Context(), c, *td.TaskDefinitionArn)
	if err != nil || out.TaskDefinition.Status != types.TaskDefinitionStatusDeleteInProgress {
		t.Fatalf("revision in use: %+v %v", out, err)
	}
	if _, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the revision to be purged", func() error {
		_, err := describe(t.Context(), c, *td.TaskDefinitionArn)
		if err == nil {
			return fmt.Errorf("still describable")
		}
		return nil
	})
}

func TestServiceTaskSets(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "prod")
	td1 := register(t, c, "web")
	td2 := register(t, c, "web")
	deregister(t, c, *td1.TaskDefinitionArn)
	createService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("ext"), DesiredCount: aws.Int32(2),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal},
	})

	// CreateTaskSet refuses an INACTIVE revision like CreateService.
	_, err := c.CreateTaskSet(t.Context(), &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("ext"), TaskDefinition: td1.TaskDefinitionArn})
	wantAPIError[*types.ClientException](t, err, "TaskDefinition is inactive")

	out, err := c.CreateTaskSet(t.Context(), &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("ext"), TaskDefinition: td2.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	ts := out.TaskSet
	waitFor(t, 10*time.Second, "the task set to reach a steady state", func() error {
		d, err := c.DescribeTaskSets(t.Context(), &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("ext"), TaskSets: []string{*ts.TaskSetArn}})
		if err != nil {
			return err
		}
		if got := d.TaskSets[0]; got.StabilityStatus != types.StabilityStatusSteadyState || got.RunningCount != 2 {
			return fmt.Errorf("task set %s running %d", got.StabilityStatus, got.RunningCount)
		}
		return nil
	})
	tasks := serviceTasks(t, c, "prod", "ext", types.DesiredStatusRunning)
	if len(tasks) != 2 || *tasks[0].StartedBy != *ts.Id {
		t.Fatalf("task set tasks %+v", tasks)
	}
	if _, err := c.DeleteTaskSet(t.Context(), &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("ext"), TaskSet: ts.Id, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the task set to drain away", func() error {
		d, err := c.DescribeTaskSets(t.Context(), &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("ext")})
		if err != nil {
			return err
		}
		if len(d.TaskSets) != 0 {
			return fmt.Errorf("%d task sets", len(d.TaskSets))
		}
		return nil
	})
}
