package ecs

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Capacity provider (Auto Scaling group) rules. Sources in docs/compat.md,
// "Capacity providers": [V] verified against AWS's documentation or a
// recorded AWS answer, [I] inferred.
const (
	// MsgCapacityProviderNameInvalid is CreateCapacityProvider's answer
	// for a bad name or a reserved prefix [V: recorded in aws-cdk#29151
	// and aws-cdk#36584, where "EcsCp..." was refused too: the prefix
	// check ignores case].
	MsgCapacityProviderNameInvalid = `The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with "aws", "ecs", or "fargate". Specify a valid name and try again.`
	// MsgCapacityProviderExists [V: containers-roadmap#688].
	MsgCapacityProviderExists = "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider."
	// MsgAutoScalingGroupInUse [V: containers-roadmap#632].
	MsgAutoScalingGroupInUse = "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again."
	// MsgCapacityProviderInUse is PutClusterCapacityProviders removing a
	// provider tasks or services still use [V: containers-roadmap#631].
	MsgCapacityProviderInUse = "The specified capacity provider is in use and cannot be removed."
	// MsgTooManyClusterCapacityProviders [V: cloudformation-coverage-roadmap#1086].
	MsgTooManyClusterCapacityProviders = "The maximum number of capacity providers per cluster has been exceeded."
	// MsgAutoScalingGroupARNInvalid [I].
	MsgAutoScalingGroupARNInvalid = "The specified Auto Scaling group ARN is invalid. Specify a valid Auto Scaling group ARN or name and try again."
	// MsgTargetCapacityRange [I: the model bounds targetCapacity to 1..100].
	MsgTargetCapacityRange = "The managed scaling target capacity must be between 1 and 100."
	// MsgScalingStepRange [I: the model bounds both step sizes to 1..10000].
	MsgScalingStepRange = "The managed scaling step size must be between 1 and 10000, and the minimum scaling step size cannot exceed the maximum."
	// MsgWarmupRange [I: the model bounds instanceWarmupPeriod to 0..10000].
	MsgWarmupRange = "The managed scaling instance warmup period must be between 0 and 10000 seconds."
	// MsgManagedTerminationProtectionNeedsScaling: "When using managed
	// termination protection, managed scaling must also be used otherwise
	// managed termination protection doesn't work." [V API reference,
	// AutoScalingGroupProvider]; the message is [I].
	MsgManagedTerminationProtectionNeedsScaling = "The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the capacity provider must have managed scaling enabled."
	// MsgManagedInstancesUnsupported: ecsd has no Managed Instances.
	MsgManagedInstancesUnsupported = "ecsd does not support Amazon ECS Managed Instances capacity providers; specify an autoScalingGroupProvider."
	// MsgCapacityProviderInactive names an INACTIVE provider.
	MsgCapacityProviderInactive = "The specified capacity provider is not active. Specify an active capacity provider and try again."
)

// MaxClusterCapacityProviders is how many capacity providers a cluster
// has at most ("Capacity providers per cluster: 20", Service Quotas).
const MaxClusterCapacityProviders = 20

// ValidCapacityProviderName applies CreateCapacityProvider's name rule:
// 1 to 255 letters, numbers, underscores and hyphens, not starting with
// aws, ecs or fargate in any case.
func ValidCapacityProviderName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	lower := strings.ToLower(name)
	for _, p := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(lower, p) {
			return false
		}
	}
	return true
}

// AutoScalingGroupName returns the name of the Auto Scaling group an
// autoScalingGroupArn names: the ARN's autoScalingGroupName/ part, or the
// value itself when it is a bare name ("The Amazon Resource Name (ARN)
// that identifies the Auto Scaling group, or the Auto Scaling group
// name", API reference). ok is false for anything else.
func AutoScalingGroupName(arnOrName string) (string, bool) {
	if !strings.HasPrefix(arnOrName, "arn:") {
		ok := arnOrName != "" && len(arnOrName) <= 255 && !strings.ContainsAny(arnOrName, ":/")
		return arnOrName, ok
	}
	parts := strings.SplitN(arnOrName, ":", 7)
	if len(parts) != 7 || parts[2] != "autoscaling" || parts[5] != "autoScalingGroup" {
		return "", false
	}
	name, found := strings.CutPrefix(parts[6][strings.IndexByte(parts[6], ':')+1:], "autoScalingGroupName/")
	if !found || name == "" || !strings.Contains(parts[6], ":") {
		return "", false
	}
	return name, true
}

// ValidateManagedScaling checks managedScaling's bounds (each is
// optional; ECS applies its defaults to those left out).
func ValidateManagedScaling(ms *types.ManagedScaling) error {
	if ms == nil {
		return nil
	}
	if ms.Status != "" && ms.Status != types.ManagedScalingStatusEnabled && ms.Status != types.ManagedScalingStatusDisabled {
		return InvalidParameterException("managedScaling.status should be one of [ENABLED,DISABLED]")
	}
	if t := ms.TargetCapacity; t != nil && (*t < 1 || *t > 100) {
		return InvalidParameterException(MsgTargetCapacityRange)
	}
	lo, hi := ms.MinimumScalingStepSize, ms.MaximumScalingStepSize
	if lo != nil && (*lo < 1 || *lo > 10000) || hi != nil && (*hi < 1 || *hi > 10000) || lo != nil && hi != nil && *lo > *hi {
		return InvalidParameterException(MsgScalingStepRange)
	}
	if w := ms.InstanceWarmupPeriod; w != nil && (*w < 0 || *w > 10000) {
		return InvalidParameterException(MsgWarmupRange)
	}
	return nil
}

// ManagedScalingWithDefaults returns managedScaling as ECS stores and
// describes it: status ENABLED unless given (the API reference: "status
// ... Determines whether to use managed scaling for the capacity
// provider", default shown ENABLED in recorded answers [I]), targetCapacity
// 100, step sizes 1 and 10000, warm-up 300 seconds.
func ManagedScalingWithDefaults(ms *types.ManagedScaling) *types.ManagedScaling {
	out := types.ManagedScaling{Status: types.ManagedScalingStatusDisabled}
	if ms != nil {
		out = *ms
		if out.Status == "" {
			out.Status = types.ManagedScalingStatusEnabled
		}
	}
	if out.TargetCapacity == nil {
		out.TargetCapacity = ptr(int32(100))
	}
	if out.MinimumScalingStepSize == nil {
		out.MinimumScalingStepSize = ptr(int32(1))
	}
	if out.MaximumScalingStepSize == nil {
		out.MaximumScalingStepSize = ptr(int32(10000))
	}
	if out.InstanceWarmupPeriod == nil {
		out.InstanceWarmupPeriod = ptr(int32(300))
	}
	return &out
}

// NewCapacityProvider returns a new ACTIVE Auto Scaling group capacity
// provider as CreateCapacityProvider answers it (tags apart).
func NewCapacityProvider(region, account, name string, asg types.AutoScalingGroupProvider) types.CapacityProvider {
	asg.ManagedScaling = ManagedScalingWithDefaults(asg.ManagedScaling)
	if asg.ManagedTerminationProtection == "" {
		asg.ManagedTerminationProtection = types.ManagedTerminationProtectionDisabled
	}
	if asg.ManagedDraining == "" {
		// "The default is ENABLED" [V API reference, managedDraining].
		asg.ManagedDraining = types.ManagedDrainingEnabled
	}
	return types.CapacityProvider{
		CapacityProviderArn:      ptr(CapacityProviderARN(region, account, name)),
		Name:                     ptr(name),
		Status:                   types.CapacityProviderStatusActive,
		Type:                     types.CapacityProviderTypeEc2Autoscaling,
		AutoScalingGroupProvider: &asg,
	}
}

// ValidateAutoScalingGroupProvider checks CreateCapacityProvider's group
// settings.
func ValidateAutoScalingGroupProvider(asg types.AutoScalingGroupProvider) error {
	if _, ok := AutoScalingGroupName(deref(asg.AutoScalingGroupArn)); !ok {
		return ClientException(MsgAutoScalingGroupARNInvalid)
	}
	return validateGroupSettings(asg.ManagedScaling, asg.ManagedTerminationProtection, asg.ManagedDraining)
}

func validateGroupSettings(ms *types.ManagedScaling, mtp types.ManagedTerminationProtection, md types.ManagedDraining) error {
	if err := ValidateManagedScaling(ms); err != nil {
		return err
	}
	if mtp != "" && mtp != types.ManagedTerminationProtectionEnabled && mtp != types.ManagedTerminationProtectionDisabled {
		return InvalidParameterException("managedTerminationProtection should be one of [ENABLED,DISABLED]")
	}
	if md != "" && md != types.ManagedDrainingEnabled && md != types.ManagedDrainingDisabled {
		return InvalidParameterException("managedDraining should be one of [ENABLED,DISABLED]")
	}
	return nil
}

// UpdateAutoScalingGroupProvider applies UpdateCapacityProvider's changes
// to a provider's group settings: members left out keep their values.
func UpdateAutoScalingGroupProvider(cur types.AutoScalingGroupProvider, up types.AutoScalingGroupProviderUpdate) (types.AutoScalingGroupProvider, error) {
	if err := validateGroupSettings(up.ManagedScaling, up.ManagedTerminationProtection, up.ManagedDraining); err != nil {
		return cur, err
	}
	if up.ManagedScaling != nil {
		ms := *ManagedScalingWithDefaults(cur.ManagedScaling)
		u := up.ManagedScaling
		if u.Status != "" {
			ms.Status = u.Status
		}
		if u.TargetCapacity != nil {
			ms.TargetCapacity = u.TargetCapacity
		}
		if u.MinimumScalingStepSize != nil {
			ms.MinimumScalingStepSize = u.MinimumScalingStepSize
		}
		if u.MaximumScalingStepSize != nil {
			ms.MaximumScalingStepSize = u.MaximumScalingStepSize
		}
		if u.InstanceWarmupPeriod != nil {
			ms.InstanceWarmupPeriod = u.InstanceWarmupPeriod
		}
		if *ms.MinimumScalingStepSize > *ms.MaximumScalingStepSize {
			return cur, InvalidParameterException(MsgScalingStepRange)
		}
		cur.ManagedScaling = &ms
	}
	if up.ManagedTerminationProtection != "" {
		cur.ManagedTerminationProtection = up.ManagedTerminationProtection
	}
	if up.ManagedDraining != "" {
		cur.ManagedDraining = up.ManagedDraining
	}
	return cur, CheckTerminationProtection(cur)
}

// CheckTerminationProtection refuses managed termination protection
// without managed scaling.
func CheckTerminationProtection(asg types.AutoScalingGroupProvider) error {
	if asg.ManagedTerminationProtection == types.ManagedTerminationProtectionEnabled &&
		(asg.ManagedScaling == nil || asg.ManagedScaling.Status != types.ManagedScalingStatusEnabled) {
		return InvalidParameterException(MsgManagedTerminationProtectionNeedsScaling)
	}
	return nil
}
