package api

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestCreateServiceMembersReachTheService checks that every member of
// CreateServiceInput either lands in the model's Service through
// serviceOf, or is one the handler passes on separately (or, for the two
// ecsd does not model, drops knowingly). A member added to the SDK fails
// here until it is placed.
func TestCreateServiceMembersReachTheService(t *testing.T) {
	separate := map[string]bool{
		"Cluster": true, "ClientToken": true, "Role": true,
		"ServiceConnectConfiguration": true, "VolumeConfigurations": true, "VpcLatticeConfigurations": true,
		// Not modelled by ecsd (docs/compat.md).
		"Monitoring": true, "GatewayConnectors": true,
	}
	svc := reflect.TypeFor[types.Service]()
	in := reflect.TypeFor[ecs.CreateServiceInput]()
	for i := range in.NumField() {
		f := in.Field(i)
		if !f.IsExported() || separate[f.Name] {
			continue
		}
		if _, ok := svc.FieldByName(f.Name); !ok {
			t.Errorf("CreateServiceInput.%s has no place in types.Service and is not handled separately", f.Name)
		}
	}

	got, err := serviceOf(&ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(3),
		LaunchType: types.LaunchTypeFargate, PropagateTags: types.PropagateTagsService, EnableExecuteCommand: true,
		HealthCheckGracePeriodSeconds: aws.Int32(30), Cluster: aws.String("prod"),
		LoadBalancers:     []types.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(80), TargetGroupArn: aws.String("tg")}},
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *got.ServiceName != "web" || *got.TaskDefinition != "web:1" || got.DesiredCount != 3 || got.LaunchType != "FARGATE" ||
		got.PropagateTags != "SERVICE" || !got.EnableExecuteCommand || *got.HealthCheckGracePeriodSeconds != 30 ||
		*got.LoadBalancers[0].TargetGroupArn != "tg" || got.PlacementStrategy[0].Type != "spread" || got.ClusterArn != nil {
		t.Fatalf("serviceOf: %+v", got)
	}
}
