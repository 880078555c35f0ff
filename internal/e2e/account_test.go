package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestAccountSettings(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	ctx := t.Context()
	root := "arn:aws:iam::000000000000:root"
	user := "arn:aws:iam::000000000000:user/MyUser"

	effective := func(t *testing.T, name types.SettingName, principal string) types.Setting {
		t.Helper()
		in := &ecs.ListAccountSettingsInput{Name: name, EffectiveSettings: true}
		if principal != "" {
			in.PrincipalArn = aws.String(principal)
		}
		out, err := c.ListAccountSettings(ctx, in)
		if err != nil || len(out.Settings) != 1 {
			t.Fatalf("ListAccountSettings(%s, %s) = %+v, %v", name, principal, out, err)
		}
		return out.Settings[0]
	}

	// Every setting, with ECS's defaults, through the SDK's paginator.
	var all []types.Setting
	p := ecs.NewListAccountSettingsPaginator(c, &ecs.ListAccountSettingsInput{EffectiveSettings: true, MaxResults: 4})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Settings...)
	}
	got := map[types.SettingName]string{}
	for _, st := range all {
		got[st.Name] = aws.ToString(st.Value)
		if aws.ToString(st.PrincipalArn) != root {
			t.Errorf("%s principal %s, want the root user", st.Name, aws.ToString(st.PrincipalArn))
		}
	}
	want := map[types.SettingName]string{
		"serviceLongArnFormat": "enabled", "taskLongArnFormat": "enabled", "containerInstanceLongArnFormat": "enabled",
		"awsvpcTrunking": "disabled", "containerInsights": "disabled", "fargateFIPSMode": "disabled",
		"tagResourceAuthorization": "on", "fargateTaskRetirementWaitPeriod": "7", "guardDutyActivate": "off",
		"defaultLogDriverMode": "non-blocking", "fargateEventWindows": "disabled",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("effective defaults (-want +got):\n%s", diff)
	}

	put, err := c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameContainerInsights, Value: aws.String("enabled")})
	if err != nil || aws.ToString(put.Setting.PrincipalArn) != root || put.Setting.Type != types.SettingTypeUser {
		t.Fatalf("PutAccountSettingDefault = %+v, %v", put, err)
	}
	if _, err := c.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("enhanced"), PrincipalArn: aws.String(user)}); err != nil {
		t.Fatal(err)
	}
	if st := effective(t, types.SettingNameContainerInsights, user); aws.ToString(st.Value) != "enhanced" || aws.ToString(st.PrincipalArn) != user {
		t.Errorf("user's containerInsights = %+v", st)
	}
	if st := effective(t, types.SettingNameContainerInsights, ""); aws.ToString(st.Value) != "enabled" {
		t.Errorf("caller's (root's) containerInsights = %+v", st)
	}
	// New clusters take the caller's containerInsights.
	cl := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("insights")})
	if !cmp.Equal(insightsSetting("enabled"), cl.Settings, clIgnoreUnexported) {
		t.Errorf("new cluster settings = %v", cl.Settings)
	}

	del, err := c.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights, PrincipalArn: aws.String(user)})
	if err != nil || aws.ToString(del.Setting.Value) != "enhanced" {
		t.Fatalf("DeleteAccountSetting = %+v, %v", del, err)
	}
	if st := effective(t, types.SettingNameContainerInsights, user); aws.ToString(st.Value) != "enabled" || aws.ToString(st.PrincipalArn) != root {
		t.Errorf("after delete = %+v", st)
	}

	_, err = c.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameTaskLongArnFormat, Value: aws.String("ENABLED")})
	wantAPIError[*types.InvalidParameterException](t, err, "Invalid setting 'value'")
	_, err = c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameTagResourceAuthorization, Value: aws.String("enabled")})
	wantAPIError[*types.InvalidParameterException](t, err, "Invalid setting 'value'")
	_, err = c.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameServiceLongArnFormat, Value: aws.String("disabled")})
	wantAPIError[*types.InvalidParameterException](t, err, "You can no longer disable Long Arn settings")
	_, err = c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameContainerInstanceLongArnFormat, Value: aws.String("disabled")})
	wantAPIError[*types.InvalidParameterException](t, err, "You can no longer disable Long Arn settings")
	resp, body := s.post(t, "PutAccountSetting", `{"name":"dualStack","value":"enabled"}`)
	if resp.StatusCode != 400 || decodeJSON(t, body)["__type"] != "InvalidParameterException" {
		t.Errorf("unknown setting name: %d %s", resp.StatusCode, body)
	}
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	s := startServer(t, withSimInstances(0)) // TestContainerInstances covers real targets
	c := s.defaultClient()
	ctx := t.Context()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("attrs")})

	attr := types.Attribute{Name: aws.String("stack"), Value: aws.String("prod"), TargetType: types.TargetTypeContainerInstance,
		TargetId: aws.String("arn:aws:ecs:us-east-1:000000000000:container-instance/attrs/0123456789abcdef0123456789abcdef")}
	_, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("attrs"), Attributes: []types.Attribute{attr}})
	wantAPIError[*types.TargetNotFoundException](t, err, "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific.")
	_, err = c.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("attrs"), Attributes: []types.Attribute{attr}})
	wantAPIError[*types.TargetNotFoundException](t, err, "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific.")

	out, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("attrs"), TargetType: types.TargetTypeContainerInstance})
	if err != nil || out.Attributes == nil || len(out.Attributes) != 0 {
		t.Errorf("ListAttributes = %+v, %v", out, err)
	}
	_, err = c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("nope"), TargetType: types.TargetTypeContainerInstance})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
}
