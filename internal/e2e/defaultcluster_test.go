package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestNoDefaultCluster: the ECS API does not create the default cluster on
// its own (the console and the container agent call CreateCluster for it),
// so RunTask and CreateService without a cluster fail until CreateCluster
// with no name creates "default".
func TestNoDefaultCluster(t *testing.T) {
	t.Parallel()
	e := startServer(t, withoutDefaultCluster())
	c := e.defaultClient()
	ctx := t.Context()
	td := register(t, c, "web")

	_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("s"), TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
	out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeClusters with no cluster: %+v %+v", out.Clusters, out.Failures)
	}

	created, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(created.Cluster.ClusterName); got != "default" {
		t.Fatalf("CreateCluster with no name made %q, want default", got)
	}
	if _, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn}); err != nil {
		t.Fatalf("RunTask on the created default cluster: %v", err)
	}
}
