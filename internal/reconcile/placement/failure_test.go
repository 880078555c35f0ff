package placement

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
)

func TestServiceUnableToPlaceMessage(t *testing.T) {
	const tail = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	arn := "arn:aws:ecs:us-east-1:012345678910:container-instance/default/3f4de1c5ffdd4954af7e75b4be0c8841"
	tests := []struct {
		f    Failure
		want string
	}{
		// The API reference's DescribeServices example, word for word.
		{Failure{InstanceARN: "arn:aws:ecs:us-east-1:012345678910:container-instance/3f4de1c5-ffdd-4954-af7e-75b4be0c8841", Reason: ReasonPorts},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5-ffdd-4954-af7e-75b4be0c8841) is already using a port required by your task." + tail},
		{Failure{InstanceARN: arn, Reason: ReasonPortsUDP},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) is already using a port required by your task." + tail},
		{Failure{InstanceARN: arn, Reason: ReasonCPU},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) has insufficient CPU units available." + tail},
		{Failure{InstanceARN: arn, Reason: ReasonMemory},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) has insufficient memory available." + tail},
		{Failure{InstanceARN: arn, Reason: ReasonAttribute},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) is missing an attribute required by your task." + tail},
		{Failure{InstanceARN: arn, Reason: ReasonAgent},
			`(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) encountered error "AGENT".` + tail},
		{Failure{InstanceARN: arn, Reason: ReasonMemberOf},
			`(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 3f4de1c5ffdd4954af7e75b4be0c8841) encountered error "MemberOf placement constraint unsatisfied.".` + tail},
		{Failure{NoInstances: true},
			"(service ecs-simple-service) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster." + tail},
	}
	for _, tc := range tests {
		if got := ServiceUnableToPlaceMessage("ecs-simple-service", tc.f); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.f.Reason, got, tc.want)
		}
	}
	if got, want := ServiceNoCapacityProviderInstancesMessage("web"), "(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your capacity provider."+tail; got != want {
		t.Errorf("capacity provider:\n got %q\nwant %q", got, want)
	}
}

func TestRunTaskFailure(t *testing.T) {
	arn := "arn:aws:ecs:ap-south-1:677002189549:container-instance/9343a2bc91034510bddcebef0a29f3d9"
	got := RunTaskFailure(Failure{InstanceARN: arn, Reason: ReasonDistinctInstance})
	want := types.Failure{Arn: str(arn), Reason: str("DistinctInstance placement constraint unsatisfied.")}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(types.Failure{})); diff != "" {
		t.Error(diff)
	}
	var e *ecs.Error
	if err := NoContainerInstancesError(); !errors.As(err, &e) || e.Code != "InvalidParameterException" || e.Message != "No Container Instances were found in your cluster." {
		t.Errorf("NoContainerInstancesError = %v", err)
	}
}
