package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	domain "github.com/ecsd/ecsd/internal/ecs"
)

func asgARN(name string) string {
	return "arn:aws:autoscaling:" + defaultRegion + ":" + defaultAccount + ":autoScalingGroup:1b2c3d4e-5678-90ab-cdef-000000000001:autoScalingGroupName/" + name
}

func createProvider(t *testing.T, c *ecs.Client, name, asg string, ms *types.ManagedScaling, tags ...types.Tag) types.CapacityProvider {
	t.Helper()
	out, err := c.CreateCapacityProvider(t.Context(), &ecs.CreateCapacityProviderInput{
		Name: aws.String(name),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String(asgARN(asg)), ManagedScaling: ms,
		},
		Tags: tags,
	})
	if err != nil {
		t.Fatalf("CreateCapacityProvider %s: %v", name, err)
	}
	return *out.CapacityProvider
}

// TestCapacityProviderLifecycle: create, describe (with and without
// TAGS, MISSING), update, tag, associate, refuse deletion while
// associated, disassociate, delete.
func TestCapacityProviderLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	ctx := t.Context()

	cp := createProvider(t, c, "cp-one", "asg-one", &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(90)}, tag("team", "a"))
	wantARN := "arn:aws:ecs:" + defaultRegion + ":" + defaultAccount + ":capacity-provider/cp-one"
	if aws.ToString(cp.CapacityProviderArn) != wantARN || cp.Status != types.CapacityProviderStatusActive || cp.Type != types.CapacityProviderTypeEc2Autoscaling {
		t.Fatalf("created %+v", cp)
	}
	ms := cp.AutoScalingGroupProvider.ManagedScaling
	if got := []int32{*ms.TargetCapacity, *ms.MinimumScalingStepSize, *ms.MaximumScalingStepSize, *ms.InstanceWarmupPeriod}; !cmp.Equal(got, []int32{90, 1, 10000, 300}) {
		t.Errorf("managedScaling = %v, want [90 1 10000 300]", got)
	}
	if cp.AutoScalingGroupProvider.ManagedTerminationProtection != types.ManagedTerminationProtectionDisabled ||
		cp.AutoScalingGroupProvider.ManagedDraining != types.ManagedDrainingEnabled {
		t.Errorf("defaults: %+v", cp.AutoScalingGroupProvider)
	}

	// Errors.
	_, err := c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("cp-one"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("other"))}})
	wantAPIError[*types.ClientException](t, err, domain.MsgCapacityProviderExists)
	_, err = c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("cp-two"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("asg-one"))}})
	wantAPIError[*types.ClientException](t, err, domain.MsgAutoScalingGroupInUse)
	for _, bad := range []string{"aws-x", "ECS1", "Fargate_x", "has space", ""} {
		_, err = c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String(bad),
			AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("g-" + bad))}})
		wantAPIError[*types.ClientException](t, err, domain.MsgCapacityProviderNameInvalid)
	}
	_, err = c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("cp-mtp"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("g-mtp")),
			ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled}})
	wantAPIError[*types.InvalidParameterException](t, err, domain.MsgManagedTerminationProtectionNeedsScaling)
	_, err = c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("cp-tc"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("g-tc")),
			ManagedScaling: &types.ManagedScaling{TargetCapacity: aws.Int32(101)}}})
	wantAPIError[*types.InvalidParameterException](t, err, domain.MsgTargetCapacityRange)

	// Describe: by name and ARN, with TAGS, and a missing one.
	d, err := c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: []string{"cp-one", wantARN, "nope"}, Include: []types.CapacityProviderField{types.CapacityProviderFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.CapacityProviders) != 2 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe: %+v", d)
	}
	if got := d.CapacityProviders[0].Tags; len(got) != 1 || aws.ToString(got[0].Key) != "team" {
		t.Errorf("tags = %+v", got)
	}
	all, err := c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range all.CapacityProviders {
		names = append(names, aws.ToString(p.Name))
	}
	if !cmp.Equal(names, []string{"FARGATE", "FARGATE_SPOT", "cp-one"}) {
		t.Errorf("all providers = %v", names)
	}

	// Update.
	up, err := c.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String("cp-one"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{TargetCapacity: aws.Int32(50)}}})
	if err != nil {
		t.Fatal(err)
	}
	if up.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusUpdateComplete ||
		*up.CapacityProvider.AutoScalingGroupProvider.ManagedScaling.TargetCapacity != 50 ||
		up.CapacityProvider.AutoScalingGroupProvider.ManagedScaling.Status != types.ManagedScalingStatusEnabled {
		t.Errorf("updated %+v", up.CapacityProvider)
	}

	// Tags through TagResource.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(wantARN), Tags: []types.Tag{tag("env", "dev")}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)})
	if err != nil || len(lt.Tags) != 2 {
		t.Fatalf("tags = %+v, %v", lt, err)
	}

	// Associate; deleting now fails with DELETE_FAILED.
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cpc")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("cpc"),
		CapacityProviders: []string{"nope"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIError[*types.ClientException](t, err, domain.MsgCapacityProviderNotFound)
	pc, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("cpc"),
		CapacityProviders:               []string{"cp-one", "FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-one"), Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(pc.Cluster.CapacityProviders, []string{"cp-one", "FARGATE"}) {
		t.Errorf("cluster providers = %v", pc.Cluster.CapacityProviders)
	}
	del, err := c.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("cp-one")})
	if err != nil {
		t.Fatal(err)
	}
	if del.CapacityProvider.Status != types.CapacityProviderStatusActive || del.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusDeleteFailed ||
		aws.ToString(del.CapacityProvider.UpdateStatusReason) == "" {
		t.Errorf("delete while associated: %+v", del.CapacityProvider)
	}
	_, err = c.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("FARGATE")})
	wantAPIError[*types.ClientException](t, err, "The specified capacity provider is reserved and cannot be deleted.")

	// Disassociate, then delete: DELETE_IN_PROGRESS, then INACTIVE.
	if _, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("cpc"),
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	del, err = c.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String(wantARN)})
	if err != nil {
		t.Fatal(err)
	}
	if del.CapacityProvider.Status != types.CapacityProviderStatusActive || del.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusDeleteInProgress {
		t.Errorf("delete: %+v", del.CapacityProvider)
	}
	d, err = c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"cp-one"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.CapacityProviders) != 1 || d.CapacityProviders[0].Status != types.CapacityProviderStatusInactive ||
		d.CapacityProviders[0].UpdateStatus != types.CapacityProviderUpdateStatusDeleteComplete {
		t.Fatalf("after delete: %+v", d)
	}
	_, err = c.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("cp-one")})
	wantAPIError[*types.ClientException](t, err, domain.MsgCapacityProviderNotFound)
	// The name and the group can be used again.
	createProvider(t, c, "cp-one", "asg-one", nil)
}
