package control_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/control"
)

func TestAccountSettings(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	root := "arn:aws:iam::123456789012:root"
	// alice.ARN is an IAM user of the account; requests without a principal
	// apply to her.
	user := alice.ARN
	setting := func(name types.SettingName, value, principal string) types.Setting {
		return types.Setting{Name: name, Value: ptr(value), PrincipalArn: ptr(principal), Type: types.SettingTypeUser}
	}
	list := func(r control.ListAccountSettingsRequest) []types.Setting {
		t.Helper()
		var all []types.Setting
		for range 20 {
			page, next, err := c.ListAccountSettings(ctx, alice, r)
			if err != nil {
				t.Fatalf("ListAccountSettings(%+v): %v", r, err)
			}
			all = append(all, page...)
			if r.NextToken = next; next == "" {
				return all
			}
		}
		t.Fatal("ListAccountSettings never ended")
		return nil
	}

	if got := list(control.ListAccountSettingsRequest{}); len(got) != 0 {
		t.Errorf("nothing set, not effective: %v", got)
	}
	// Effective settings of an untouched account are ECS's defaults, as
	// the root user's.
	want := []types.Setting{
		setting("awsvpcTrunking", "disabled", root),
		setting("containerInsights", "disabled", root),
		setting("containerInstanceLongArnFormat", "enabled", root),
		setting("defaultLogDriverMode", "non-blocking", root),
		setting("fargateEventWindows", "disabled", root),
		setting("fargateFIPSMode", "disabled", root),
		setting("fargateTaskRetirementWaitPeriod", "7", root),
		{Name: "guardDutyActivate", Value: ptr("off"), PrincipalArn: ptr(root), Type: types.SettingTypeAwsManaged},
		setting("serviceLongArnFormat", "enabled", root),
		setting("tagResourceAuthorization", "on", root),
		setting("taskLongArnFormat", "enabled", root),
	}
	got := list(control.ListAccountSettingsRequest{EffectiveSettings: true, MaxResults: 3})
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Errorf("effective defaults (-want +got):\n%s", diff)
	}

	// The account default applies to every principal; a principal's own
	// setting overrides it.
	if s, err := c.PutAccountSettingDefault(ctx, alice, "containerInsights", ptr("enhanced")); err != nil || !cmp.Equal(setting("containerInsights", "enhanced", root), s, ignoreUnexported) {
		t.Errorf("PutAccountSettingDefault = %+v, %v", s, err)
	}
	if s, err := c.PutAccountSetting(ctx, alice, "containerInsights", ptr("disabled"), nil); err != nil || !cmp.Equal(setting("containerInsights", "disabled", user), s, ignoreUnexported) {
		t.Errorf("PutAccountSetting = %+v, %v", s, err)
	}
	other := "arn:aws:iam::123456789012:role/deployer"
	if _, err := c.PutAccountSetting(ctx, alice, "awsvpcTrunking", ptr("enabled"), ptr(other)); err != nil {
		t.Fatal(err)
	}
	name := types.SettingNameContainerInsights
	if got := list(control.ListAccountSettingsRequest{Name: name, EffectiveSettings: true}); !cmp.Equal([]types.Setting{setting(name, "disabled", user)}, got, ignoreUnexported) {
		t.Errorf("alice's effective containerInsights = %v", got)
	}
	if got := list(control.ListAccountSettingsRequest{Name: name, EffectiveSettings: true, PrincipalArn: ptr(other)}); !cmp.Equal([]types.Setting{setting(name, "enhanced", root)}, got, ignoreUnexported) {
		t.Errorf("the role's effective containerInsights = %v", got)
	}
	if got := list(control.ListAccountSettingsRequest{PrincipalArn: ptr(other)}); !cmp.Equal([]types.Setting{setting("awsvpcTrunking", "enabled", other)}, got, ignoreUnexported) {
		t.Errorf("the role's own settings = %v", got)
	}
	if got := list(control.ListAccountSettingsRequest{PrincipalArn: ptr(root)}); !cmp.Equal([]types.Setting{setting(name, "enhanced", root)}, got, ignoreUnexported) {
		t.Errorf("the root user's settings = %v", got)
	}
	if got := list(control.ListAccountSettingsRequest{Name: name, Value: ptr("enhanced"), EffectiveSettings: true}); len(got) != 0 {
		t.Errorf("value filter kept %v", got)
	}
	// Settings are per region.
	if _, next, err := c.ListAccountSettings(ctx, bob, control.ListAccountSettingsRequest{}); err != nil || next != "" {
		t.Fatal(err)
	}
	if got, _, _ := c.ListAccountSettings(ctx, bob, control.ListAccountSettingsRequest{PrincipalArn: ptr(root)}); len(got) != 0 {
		t.Errorf("bob's region sees %v", got)
	}

	// Deleting answers the setting as it was; the default applies again.
	if s, err := c.DeleteAccountSetting(ctx, alice, name, nil); err != nil || !cmp.Equal(setting(name, "disabled", user), s, ignoreUnexported) {
		t.Errorf("DeleteAccountSetting = %+v, %v", s, err)
	}
	if got := list(control.ListAccountSettingsRequest{Name: name, EffectiveSettings: true}); !cmp.Equal([]types.Setting{setting(name, "enhanced", root)}, got, ignoreUnexported) {
		t.Errorf("after delete = %v", got)
	}
	if s, err := c.DeleteAccountSetting(ctx, alice, name, ptr(root)); err != nil || *s.Value != "enhanced" {
		t.Errorf("delete the default = %+v, %v", s, err)
	}
	if got := list(control.ListAccountSettingsRequest{Name: name, EffectiveSettings: true}); *got[0].Value != "disabled" {
		t.Errorf("after deleting the default = %v", got)
	}

	tests := []struct {
		name      string
		setting   types.SettingName
		value     string
		code, msg string
	}{
		{"upper case", "taskLongArnFormat", "ENABLED", "InvalidParameterException", "Invalid setting 'value'"},
		{"enabled for on/off", "tagResourceAuthorization", "enabled", "InvalidParameterException", "Invalid setting 'value'"},
		{"bad wait period", "fargateTaskRetirementWaitPeriod", "3", "InvalidParameterException", "Invalid setting 'value'"},
		{"read-only", "guardDutyActivate", "on", "InvalidParameterException", "Invalid setting 'name'"},
		{"no value", "containerInsights", "", "InvalidParameterException", "Invalid setting 'value'"},
		{"disable service long ARNs", "serviceLongArnFormat", "disabled", "InvalidParameterException", "You can no longer disable Long Arn settings"},
		{"disable task long ARNs", "taskLongArnFormat", "disabled", "InvalidParameterException", "You can no longer disable Long Arn settings"},
		{"disable container instance long ARNs", "containerInstanceLongArnFormat", "disabled", "InvalidParameterException", "You can no longer disable Long Arn settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutAccountSetting(ctx, alice, tt.setting, ptr(tt.value), nil)
			wantError(t, err, tt.code, tt.msg)
			_, err = c.PutAccountSettingDefault(ctx, alice, tt.setting, ptr(tt.value))
			wantError(t, err, tt.code, tt.msg)
		})
	}
	_, _, err := c.ListAccountSettings(ctx, alice, control.ListAccountSettingsRequest{MaxResults: 11})
	wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 10.")
	_, _, err = c.ListAccountSettings(ctx, alice, control.ListAccountSettingsRequest{NextToken: "x"})
	wantError(t, err, "InvalidParameterException", "Invalid nextToken: the token is malformed or was issued for a different request.")
}

func TestAttributes(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web"})
	attr := types.Attribute{Name: ptr("stack"), Value: ptr("prod"), TargetId: ptr("0123456789abcdef0123456789abcdef"), TargetType: types.TargetTypeContainerInstance}

	// ecsd has no container instances, the only attribute target.
	const notFound = "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific."
	_, err := c.PutAttributes(ctx, alice, "web", []types.Attribute{attr})
	wantError(t, err, "TargetNotFoundException", notFound)
	_, err = c.DeleteAttributes(ctx, alice, "web", []types.Attribute{attr})
	wantError(t, err, "TargetNotFoundException", notFound)

	got, next, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "web", TargetType: types.TargetTypeContainerInstance, AttributeName: ptr("stack")})
	if err != nil || next != "" || got == nil || len(got) != 0 {
		t.Errorf("ListAttributes = %v, %q, %v; want an empty list", got, next, err)
	}

	tests := []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"put nothing", func() error { _, err := c.PutAttributes(ctx, alice, "web", nil); return err }, "InvalidParameterException", "attributes can not be empty"},
		{"put eleven", func() error {
			_, err := c.PutAttributes(ctx, alice, "web", make([]types.Attribute, 11))
			return err
		}, "InvalidParameterException", "attributes can have at most 10 items."},
		{"no target", func() error {
			_, err := c.PutAttributes(ctx, alice, "web", []types.Attribute{{Name: ptr("a")}})
			return err
		}, "InvalidParameterException", "targetId can not be blank."},
		{"unknown cluster", func() error { _, err := c.PutAttributes(ctx, alice, "nope", []types.Attribute{attr}); return err }, "ClusterNotFoundException", "Cluster not found."},
		{"list unknown cluster", func() error {
			_, _, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "nope", TargetType: types.TargetTypeContainerInstance})
			return err
		}, "ClusterNotFoundException", "Cluster not found."},
		{"list without target type", func() error {
			_, _, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "web"})
			return err
		}, "InvalidParameterException", "targetType can not be blank."},
		{"list value without name", func() error {
			_, _, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "web", TargetType: types.TargetTypeContainerInstance, AttributeValue: ptr("x")})
			return err
		}, "InvalidParameterException", "You must also specify an attribute name to filter by value."},
		{"list page size", func() error {
			_, _, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "web", TargetType: types.TargetTypeContainerInstance, MaxResults: ptr(int32(0))})
			return err
		}, "InvalidParameterException", "maxResults must be between 1 and 100."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.call(), tt.code, tt.msg) })
	}
}
