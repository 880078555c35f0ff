package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestEmptyAccountARNs: an ECS ARN with an empty account field (what the
// Terraform AWS provider builds with skip_requesting_account_id = true)
// names the caller's account, for clusters, services, tasks, task
// definitions and tags; another account's ARN still finds nothing.
func TestEmptyAccountARNs(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	ctx := t.Context()
	const prefix = "arn:aws:ecs:" + defaultRegion + "::"
	cl, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("imp")})
	if err != nil {
		t.Fatal(err)
	}
	td := register(t, c, "imp")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("imp"), ServiceName: aws.String("svc"),
		TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}

	dc, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{prefix + "cluster/imp"}})
	if err != nil || len(dc.Clusters) != 1 || *dc.Clusters[0].ClusterArn != *cl.Cluster.ClusterArn || len(dc.Failures) != 0 {
		t.Fatalf("DescribeClusters by empty-account ARN: %+v %+v %v", dc.Clusters, dc.Failures, err)
	}
	ds, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(prefix + "cluster/imp"),
		Services: []string{prefix + "service/imp/svc"}})
	if err != nil || len(ds.Services) != 1 || len(ds.Failures) != 0 || *ds.Services[0].ServiceArn != arnOf("service/imp/svc") {
		t.Fatalf("DescribeServices by empty-account ARNs: %+v %+v %v", ds.Services, ds.Failures, err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(prefix + "cluster/imp"),
		Service: aws.String(prefix + "service/imp/svc"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatalf("UpdateService by empty-account ARNs: %v", err)
	}
	dt, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(prefix + "task-definition/imp:1")})
	if err != nil || *dt.TaskDefinition.TaskDefinitionArn != *td.TaskDefinitionArn {
		t.Fatalf("DescribeTaskDefinition by empty-account ARN: %v", err)
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(prefix + "cluster/imp"),
		Tags: []types.Tag{tag("k", "v")}}); err != nil {
		t.Fatalf("TagResource by empty-account ARN: %v", err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: cl.Cluster.ClusterArn})
	if err != nil || len(lt.Tags) != 1 || *lt.Tags[0].Key != "k" {
		t.Fatalf("tags under the full ARN: %+v %v", lt.Tags, err)
	}

	// Another account's ARN is still another account's.
	other := "arn:aws:ecs:" + defaultRegion + ":111122223333:cluster/imp"
	dc, err = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{other}})
	if err != nil || len(dc.Clusters) != 0 || len(dc.Failures) != 1 || *dc.Failures[0].Reason != "MISSING" {
		t.Fatalf("DescribeClusters of another account: %+v %+v %v", dc.Clusters, dc.Failures, err)
	}
}

func arnOf(resource string) string {
	return "arn:aws:ecs:" + defaultRegion + ":" + defaultAccount + ":" + resource
}
