package ecs

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestBuildCluster(t *testing.T) {
	ignore := cmpopts.IgnoreUnexported(types.Cluster{}, types.ClusterSetting{}, types.CapacityProviderStrategyItem{}, types.ClusterServiceConnectDefaults{})
	got, err := BuildCluster("cn-north-1", "123456789012", "web", "enabled", ClusterSpec{
		CapacityProviders:               []string{"arn:aws-cn:ecs:cn-north-1:123456789012:capacity-provider/FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("arn:aws-cn:ecs:cn-north-1:123456789012:capacity-provider/FARGATE"), Weight: 1}},
		ServiceConnectDefaults:          &types.ClusterServiceConnectDefaultsRequest{Namespace: ptr("")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := NewCluster("cn-north-1", "123456789012", "web")
	want.ClusterArn = ptr("arn:aws-cn:ecs:cn-north-1:123456789012:cluster/web")
	want.Settings = []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: ptr("enabled")}}
	want.CapacityProviders = []string{"FARGATE"}
	want.DefaultCapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Weight: 1}}
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("BuildCluster (-want +got):\n%s", diff)
	}
}

func TestValidateStrategy(t *testing.T) {
	item := func(p string, base, weight int32) types.CapacityProviderStrategyItem {
		return types.CapacityProviderStrategyItem{CapacityProvider: ptr(p), Base: base, Weight: weight}
	}
	both := []string{"FARGATE", "FARGATE_SPOT"}
	tests := []struct {
		name      string
		strategy  []types.CapacityProviderStrategyItem
		providers []string
		msg       string // "" for valid
	}{
		{"empty", nil, nil, ""},
		{"one base", []types.CapacityProviderStrategyItem{item("FARGATE", 2, 1), item("FARGATE_SPOT", 0, 4)}, both, ""},
		{"limits", []types.CapacityProviderStrategyItem{item("FARGATE", MaxStrategyBase, MaxStrategyWeight)}, both, ""},
		{"not associated", []types.CapacityProviderStrategyItem{item("FARGATE", 0, 1)}, []string{"FARGATE_SPOT"}, MsgStrategyNotAssociated},
		{"two bases", []types.CapacityProviderStrategyItem{item("FARGATE", 1, 1), item("FARGATE_SPOT", 1, 1)}, both, "Only one capacity provider in a capacity provider strategy can have a base defined."},
		{"duplicate", []types.CapacityProviderStrategyItem{item("FARGATE", 0, 1), item("FARGATE", 0, 1)}, both, "The capacity provider strategy cannot contain duplicate capacity providers."},
		{"base too high", []types.CapacityProviderStrategyItem{item("FARGATE", MaxStrategyBase+1, 1)}, both, "The base value of a capacity provider strategy must be between 0 and 100000."},
		{"negative weight", []types.CapacityProviderStrategyItem{item("FARGATE", 0, -1)}, both, "The weight value of a capacity provider strategy must be between 0 and 1000."},
		{"no provider", []types.CapacityProviderStrategyItem{{Weight: 1}}, both, "The capacity provider strategy item is missing a capacity provider."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateStrategy(tt.strategy, tt.providers)
			var e *Error
			switch {
			case tt.msg == "" && err != nil:
				t.Errorf("err = %v, want valid", err)
			case tt.msg != "" && (!errors.As(err, &e) || e.Code != "InvalidParameterException" || e.Message != tt.msg):
				t.Errorf("err = %v, want InvalidParameterException %q", err, tt.msg)
			}
		})
	}
}

func TestCapacityProviderRef(t *testing.T) {
	tests := []struct {
		in                    string
		name, region, account string
		isARN, ok             bool
	}{
		{"FARGATE", "FARGATE", "", "", false, true},
		{"", "", "", "", false, false},
		{"arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE_SPOT", "FARGATE_SPOT", "us-east-1", "123456789012", true, true},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/FARGATE", "", "", "", true, false},
		{"arn:aws:ecs:us-east-1:123456789012:capacity-provider/a/b", "", "", "", true, false},
		{"arn:aws:autoscaling:us-east-1:123456789012:capacity-provider/x", "", "", "", true, false},
	}
	for _, tt := range tests {
		name, region, account, isARN, ok := CapacityProviderRef(tt.in)
		if name != tt.name || region != tt.region || account != tt.account || isARN != tt.isARN || ok != tt.ok {
			t.Errorf("CapacityProviderRef(%q) = %q %q %q %v %v", tt.in, name, region, account, isARN, ok)
		}
	}
}

func TestMergeClusterSettings(t *testing.T) {
	cur := []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: ptr("disabled")}}
	got := MergeClusterSettings(cur, []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: ptr("enhanced")}})
	if len(got) != 1 || *got[0].Value != "enhanced" || *cur[0].Value != "disabled" {
		t.Errorf("merge = %v (current %v)", got, cur)
	}
}

func TestValidateAccountSetting(t *testing.T) {
	tests := []struct {
		name  types.SettingName
		value string
		msg   string
	}{
		{types.SettingNameServiceLongArnFormat, "enabled", ""},
		{types.SettingNameServiceLongArnFormat, "Enabled", MsgInvalidSettingValue},
		{types.SettingNameServiceLongArnFormat, "disabled", MsgLongArnCannotDisable},
		{types.SettingNameTaskLongArnFormat, "disabled", MsgLongArnCannotDisable},
		{types.SettingNameContainerInstanceLongArnFormat, "disabled", MsgLongArnCannotDisable},
		{types.SettingNameAwsvpcTrunking, "disabled", ""},
		{types.SettingNameContainerInsights, "enhanced", ""},
		{types.SettingNameTagResourceAuthorization, "on", ""},
		{types.SettingNameTagResourceAuthorization, "enabled", MsgInvalidSettingValue},
		{types.SettingNameFargateTaskRetirementWaitPeriod, "14", ""},
		{types.SettingNameFargateTaskRetirementWaitPeriod, "1", MsgInvalidSettingValue},
		{types.SettingNameDefaultLogDriverMode, "non-blocking", ""},
		{types.SettingNameGuardDutyActivate, "on", MsgInvalidSettingName},
		{"dualStackIPv6", "enabled", MsgInvalidSettingName},
	}
	for _, tt := range tests {
		err := ValidateAccountSetting(tt.name, tt.value)
		var e *Error
		if tt.msg == "" && err != nil || tt.msg != "" && (!errors.As(err, &e) || e.Message != tt.msg) {
			t.Errorf("ValidateAccountSetting(%s, %q) = %v, want %q", tt.name, tt.value, err, tt.msg)
		}
	}
	if n := len(AccountSettingNames()); n != len(types.SettingName("").Values()) {
		t.Errorf("%d account settings known, the model has %d", n, len(types.SettingName("").Values()))
	}
}
