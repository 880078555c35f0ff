package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestSpreadHostReadsBackAsInstanceID: a spread over "host" is stored and
// described as a spread over "instanceId", as AWS reads it back (the
// Terraform AWS provider's ordered_placement_strategy test expects it),
// and a binpack over memory or cpu as MEMORY or CPU (AWS's recorded
// describe-services output), on CreateService and UpdateService; other
// fields are kept as given.
func TestSpreadHostReadsBackAsInstanceID(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	ctx := t.Context()
	td := register(t, c, "spread")
	given := []types.PlacementStrategy{
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("host")},
		{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")},
		{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("cpu")},
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
	}
	want := func(s types.Service, what string) {
		t.Helper()
		got := s.PlacementStrategy
		var fields []string
		for _, s := range got {
			fields = append(fields, string(s.Type)+":"+aws.ToString(s.Field))
		}
		if want := "spread:instanceId binpack:MEMORY binpack:CPU spread:attribute:ecs.availability-zone"; strings.Join(fields, " ") != want {
			t.Fatalf("%s: placementStrategy %v, want %s", what, fields, want)
		}
	}
	cs, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("s"), TaskDefinition: td.TaskDefinitionArn,
		DesiredCount: aws.Int32(0), LaunchType: types.LaunchTypeEc2, PlacementStrategy: given})
	if err != nil {
		t.Fatal(err)
	}
	want(*cs.Service, "CreateService")
	ds, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"s"}})
	if err != nil || len(ds.Services) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	want(ds.Services[0], "DescribeServices")
	us, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("s"), PlacementStrategy: given})
	if err != nil {
		t.Fatal(err)
	}
	want(*us.Service, "UpdateService")
}
