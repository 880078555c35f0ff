package placement

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// MsgNoContainerInstances is RunTask's refusal when the cluster has no
// container instance to place on: InvalidParameterException "No Container
// Instances were found in your cluster." [V recorded AWS CLI output, e.g.
// "An error occurred (InvalidParameterException) when calling the RunTask
// operation: No Container Instances were found in your cluster."].
const MsgNoContainerInstances = "No Container Instances were found in your cluster."

// NoContainerInstancesError is the error RunTask answers for a request whose
// first task fails with Failure.NoInstances.
func NoContainerInstancesError() error {
	return ecs.InvalidParameterException(MsgNoContainerInstances)
}

// RunTaskFailure renders a failure as an entry of RunTask's (or
// StartTask's) failures: the container instance's ARN and the reason, as
// the API failure reasons page lists them [V; recorded: {"arn":
// "arn:aws:ecs:ap-south-1:…:container-instance/9343a2bc…", "reason":
// "DistinctInstance placement constraint unsatisfied."}]. ECS reports the
// instance it tried; ecsd reports the closest matching one, one entry per
// task it could not place [I].
func RunTaskFailure(f Failure) types.Failure {
	return types.Failure{Arn: ptr(f.InstanceARN), Reason: ptr(string(f.Reason))}
}

// The service scheduler's event when it cannot place a task, from the
// developer guide's "Service event messages" and recorded DescribeServices
// answers [V]:
//
//	(service ecs-simple-service) was unable to place a task because no
//	container instance met all of its requirements. The closest matching
//	(container-instance 3f4de1c5-…) is already using a port required by your
//	task. For more information, see the Troubleshooting section of the Amazon
//	ECS Developer Guide.
//
// (the DescribeServices example of the API reference and the SDKs), and
// "… The closest matching (container-instance b2db08b9-…) has insufficient
// CPU units available. For more information, …" (a recorded event in
// spinnaker/clouddriver's tests). The console shows the same messages
// without the parentheses.
const (
	unablePrefix    = ") was unable to place a task because no container instance met all of its requirements."
	troubleshooting = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
)

// closestPhrase is what the event says of the closest matching instance
// for each reason. "has insufficient CPU units available", "has
// insufficient memory available" and "is already using a port required by
// your task" are recorded [V]; "is missing an attribute required by your
// task" is quoted in public troubleshooting notes [V]; "encountered error
// "AGENT"" is in the developer guide and "encountered error "MemberOf
// placement constraint unsatisfied."" in a recorded event [V]. The GPU and
// distinctInstance wordings follow the "encountered error" form [I].
func closestPhrase(r Reason) string {
	switch r {
	case ReasonCPU:
		return "has insufficient CPU units available."
	case ReasonMemory:
		return "has insufficient memory available."
	case ReasonPorts, ReasonPortsUDP:
		return "is already using a port required by your task."
	case ReasonAttribute:
		return "is missing an attribute required by your task."
	default:
		return `encountered error "` + string(r) + `".`
	}
}

// ServiceUnableToPlaceMessage renders the service event for a task the
// scheduler could not place:
//
//	(service NAME) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance ID) has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.
//
// and, when the cluster has no container instance, "… met all of its
// requirements. Reason: No Container Instances were found in your cluster.
// For more information, …" [V recorded DescribeServices answers, 2016–2017].
func ServiceUnableToPlaceMessage(service string, f Failure) string {
	head := "(service " + service + unablePrefix
	if f.NoInstances || f.InstanceARN == "" {
		return head + " Reason: " + MsgNoContainerInstances + troubleshooting
	}
	return head + " The closest matching (container-instance " + ContainerInstanceID(f.InstanceARN) + ") " + closestPhrase(f.Reason) + troubleshooting
}

// ServiceNoCapacityProviderInstancesMessage is the event of a service whose
// capacity provider has no instance yet: "service NAME was unable to place
// a task because no container instance met all of its requirements. Reason:
// No Container Instances were found in your capacity provider. For more
// information, …" [V recorded console text; parentheses as in the API's
// other placement events, I].
func ServiceNoCapacityProviderInstancesMessage(service string) string {
	return "(service " + service + unablePrefix + " Reason: No Container Instances were found in your capacity provider." + troubleshooting
}
