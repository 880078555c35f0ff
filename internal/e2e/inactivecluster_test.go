package e2e

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestDescribeInDeletedCluster: what `terraform destroy` does (delete the
// service, then the cluster) and what the AWS provider's destroy check
// reads afterwards. Describe* naming the deleted cluster answers the
// INACTIVE service, the STOPPED task, and MISSING for what never was, not
// ClusterNotFoundException; changes to the cluster still get that error.
func TestDescribeInDeletedCluster(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	td := register(t, c, "gone")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("gone"), ServiceName: aws.String("svc"),
		TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("gone"), TaskDefinition: td.TaskDefinitionArn})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v", err)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("gone"), Task: run.Tasks[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("gone"), Service: aws.String("svc"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the service and task to stop", func() error {
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")})
		return err
	})

	for _, cluster := range []string{"gone", arnOf("cluster/gone")} {
		ds, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"svc", "never"}})
		if err != nil {
			t.Fatalf("DescribeServices in the deleted cluster %s: %v", cluster, err)
		}
		if len(ds.Services) != 1 || *ds.Services[0].Status != "INACTIVE" || len(ds.Failures) != 1 || *ds.Failures[0].Reason != "MISSING" {
			t.Fatalf("DescribeServices: services %+v failures %+v; want svc INACTIVE and never MISSING", ds.Services, ds.Failures)
		}
		dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{*run.Tasks[0].TaskArn}})
		if err != nil || len(dt.Tasks) != 1 || *dt.Tasks[0].LastStatus == "RUNNING" {
			t.Fatalf("DescribeTasks in the deleted cluster: %+v %v", dt, err)
		}
		di, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{"0123456789abcdef0123456789abcdef"}})
		if err != nil || len(di.Failures) != 1 || *di.Failures[0].Reason != "MISSING" {
			t.Fatalf("DescribeContainerInstances in the deleted cluster: %+v %v", di, err)
		}
	}
	// Changes to a deleted cluster, and a cluster that never was, keep
	// ECS's errors.
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("gone"), Service: aws.String("svc"), DesiredCount: aws.Int32(1)})
	wantAPIError[*types.ClusterNotFoundException](t, err, "The referenced cluster was inactive.")
	_, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("never"), Services: []string{"svc"}})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
}
