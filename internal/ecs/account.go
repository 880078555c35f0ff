package ecs

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// accountSetting is what ECS knows about one account setting: the values
// it accepts and the value an account has when nobody set it.
type accountSetting struct {
	values []string
	// builtin is the value ECS reports with effectiveSettings when neither
	// the principal nor the account default sets one.
	builtin string
	// readOnly settings are managed by AWS (guardDutyActivate is controlled
	// by GuardDuty); Put* refuses them.
	readOnly bool
	// longArn settings are the ARN-format opt-ins: ECS made the long
	// format mandatory, so "disabled" is a known value it now refuses.
	longArn bool
}

// MsgLongArnCannotDisable is ECS's answer to turning a long ARN format off.
const MsgLongArnCannotDisable = "You can no longer disable Long Arn settings"

var (
	enabledDisabled = []string{"enabled", "disabled"}
	accountSettings = map[types.SettingName]accountSetting{
		types.SettingNameServiceLongArnFormat:            {values: enabledDisabled, builtin: "enabled", longArn: true},
		types.SettingNameTaskLongArnFormat:               {values: enabledDisabled, builtin: "enabled", longArn: true},
		types.SettingNameContainerInstanceLongArnFormat:  {values: enabledDisabled, builtin: "enabled", longArn: true},
		types.SettingNameAwsvpcTrunking:                  {values: enabledDisabled, builtin: "disabled"},
		types.SettingNameContainerInsights:               {values: []string{"enabled", "disabled", "enhanced"}, builtin: "disabled"},
		types.SettingNameFargateFipsMode:                 {values: enabledDisabled, builtin: "disabled"},
		types.SettingNameTagResourceAuthorization:        {values: []string{"on", "off"}, builtin: "on"},
		types.SettingNameFargateTaskRetirementWaitPeriod: {values: []string{"0", "7", "14"}, builtin: "7"},
		types.SettingNameGuardDutyActivate:               {values: []string{"on", "off"}, builtin: "off", readOnly: true},
		types.SettingNameDefaultLogDriverMode:            {values: []string{"blocking", "non-blocking"}, builtin: "non-blocking"},
		types.SettingNameFargateEventWindows:             {values: enabledDisabled, builtin: "disabled"},
	}
)

// AccountSettingNames lists every account setting ECS has, sorted by name
// as ListAccountSettings lists them.
func AccountSettingNames() []types.SettingName {
	names := make([]types.SettingName, 0, len(accountSettings))
	for n := range accountSettings {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ValidateAccountSetting checks a value PutAccountSetting or
// PutAccountSettingDefault would store under name.
func ValidateAccountSetting(name types.SettingName, value string) error {
	s, ok := accountSettings[name]
	if !ok || s.readOnly {
		return InvalidParameterException(MsgInvalidSettingName)
	}
	if !slices.Contains(s.values, value) {
		return InvalidParameterException(MsgInvalidSettingValue)
	}
	if s.longArn && value == "disabled" {
		return InvalidParameterException(MsgLongArnCannotDisable)
	}
	return nil
}

// AccountSettingBuiltin returns the value ECS reports for a setting that
// nobody set.
func AccountSettingBuiltin(name types.SettingName) string {
	return accountSettings[name].builtin
}

// AccountSettingType says who manages a setting: AWS for the read-only
// ones, the user for the rest.
func AccountSettingType(name types.SettingName) types.SettingType {
	if accountSettings[name].readOnly {
		return types.SettingTypeAwsManaged
	}
	return types.SettingTypeUser
}
