package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// The tasks and services these tests count are written straight into the
// store: the cluster use-cases only read them.

func clTestPutTask(t *testing.T, c *control.Control, who control.Caller, cluster, id, lastStatus string, lt types.LaunchType, capacityProvider string) {
	t.Helper()
	task := types.Task{
		TaskArn:           ptr(ecs.TaskARN(who.Region, who.Account, cluster, id)),
		ClusterArn:        ptr(ecs.ClusterARN(who.Region, who.Account, cluster)),
		TaskDefinitionArn: ptr(arn(who, "web", 1)),
		LastStatus:        ptr(lastStatus),
		DesiredStatus:     ptr("RUNNING"),
		LaunchType:        lt,
	}
	if capacityProvider != "" {
		task.CapacityProviderName = ptr(capacityProvider)
	}
	if lastStatus == store.TaskStopped {
		task.DesiredStatus = ptr("STOPPED")
		task.StoppedAt = ptr(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	rec, err := records.FromTask(who.Scope, task)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Store.Update(context.Background(), func(tx store.Tx) error { return tx.PutTask(rec) }); err != nil {
		t.Fatalf("put task %s: %v", id, err)
	}
}

func clTestPutService(t *testing.T, c *control.Control, who control.Caller, cluster, name, status string, lt types.LaunchType, strategy ...string) {
	t.Helper()
	svc := types.Service{
		ServiceArn:     ptr(ecs.ServiceARN(who.Region, who.Account, cluster, name)),
		ServiceName:    ptr(name),
		ClusterArn:     ptr(ecs.ClusterARN(who.Region, who.Account, cluster)),
		Status:         ptr(status),
		TaskDefinition: ptr(arn(who, "web", 1)),
		LaunchType:     lt,
	}
	for _, p := range strategy {
		svc.CapacityProviderStrategy = append(svc.CapacityProviderStrategy, types.CapacityProviderStrategyItem{CapacityProvider: ptr(p), Weight: 1})
	}
	rec, err := records.FromService(who.Scope, svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Store.Update(context.Background(), func(tx store.Tx) error { return tx.PutService(rec) }); err != nil {
		t.Fatalf("put service %s: %v", name, err)
	}
}

func clTestCreate(t *testing.T, c *control.Control, who control.Caller, r control.CreateClusterRequest) types.Cluster {
	t.Helper()
	cl, err := c.CreateCluster(context.Background(), who, r)
	if err != nil {
		t.Fatalf("CreateCluster(%q): %v", r.Name, err)
	}
	return cl
}

func clTestDescribe(t *testing.T, c *control.Control, who control.Caller, name string, include ...types.ClusterField) types.Cluster {
	t.Helper()
	cls, fails, err := c.DescribeClusters(context.Background(), who, []string{name}, include)
	if err != nil || len(cls) != 1 || len(fails) != 0 {
		t.Fatalf("DescribeClusters(%s) = %v, %v, %v", name, cls, fails, err)
	}
	return cls[0]
}

func insights(v string) []types.ClusterSetting {
	return []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: ptr(v)}}
}

func TestCreateCluster(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	c.Instances.Simulated = 0 // the shape of a new cluster, as recorded
	tags := []types.Tag{{Key: ptr("team"), Value: ptr("web")}}
	got := clTestCreate(t, c, alice, control.CreateClusterRequest{
		Name: "web",
		Tags: tags,
		Spec: ecs.ClusterSpec{
			Settings:                        insights("enhanced"),
			Configuration:                   &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault}},
			CapacityProviders:               []string{"FARGATE", "arn:aws:ecs:eu-west-2:123456789012:capacity-provider/FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Base: 1, Weight: 1}},
			ServiceConnectDefaults:          &types.ClusterServiceConnectDefaultsRequest{Namespace: ptr("web-ns")},
		},
	})
	want := types.Cluster{
		ClusterArn:                      ptr("arn:aws:ecs:eu-west-2:123456789012:cluster/web"),
		ClusterName:                     ptr("web"),
		Status:                          ptr("ACTIVE"),
		Settings:                        insights("enhanced"),
		Configuration:                   &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault}},
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Base: 1, Weight: 1}},
		ServiceConnectDefaults:          &types.ClusterServiceConnectDefaults{Namespace: ptr("web-ns")},
		Statistics:                      []types.KeyValuePair{},
		Tags:                            tags,
	}
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Errorf("CreateCluster (-want +got):\n%s", diff)
	}

	t.Run("idempotent for an ACTIVE cluster", func(t *testing.T) {
		again := clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Spec: ecs.ClusterSpec{Settings: insights("disabled")}})
		// The existing cluster, unchanged, in DescribeClusters' shape
		// without include.
		want := want
		want.Settings, want.Configuration, want.Tags = []types.ClusterSetting{}, nil, []types.Tag{}
		if diff := cmp.Diff(want, again, ignoreUnexported); diff != "" {
			t.Errorf("CreateCluster again (-want +got):\n%s", diff)
		}
		d := clTestDescribe(t, c, alice, "web", types.ClusterFieldSettings, types.ClusterFieldTags)
		if diff := cmp.Diff(insights("enhanced"), d.Settings, ignoreUnexported); diff != "" {
			t.Errorf("settings changed by the second CreateCluster:\n%s", diff)
		}
		if diff := cmp.Diff(tags, d.Tags, ignoreUnexported); diff != "" {
			t.Errorf("tags changed by the second CreateCluster:\n%s", diff)
		}
	})

	t.Run("no name is the default cluster", func(t *testing.T) {
		got := clTestCreate(t, c, alice, control.CreateClusterRequest{})
		want := ecs.NewCluster(alice.Region, alice.Account, "default")
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Errorf("CreateCluster() (-want +got):\n%s", diff)
		}
	})

	t.Run("containerInsights follows the account setting", func(t *testing.T) {
		if _, err := c.PutAccountSettingDefault(ctx, bob, types.SettingNameContainerInsights, ptr("enabled")); err != nil {
			t.Fatal(err)
		}
		got := clTestCreate(t, c, bob, control.CreateClusterRequest{Name: "insightful"})
		if diff := cmp.Diff(insights("enabled"), got.Settings, ignoreUnexported); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
		got = clTestCreate(t, c, bob, control.CreateClusterRequest{Name: "explicit", Spec: ecs.ClusterSpec{Settings: insights("disabled")}})
		if diff := cmp.Diff(insights("disabled"), got.Settings, ignoreUnexported); diff != "" {
			t.Errorf("explicit setting (-want +got):\n%s", diff)
		}
	})

	tests := []struct {
		name      string
		r         control.CreateClusterRequest
		code, msg string
	}{
		{"bad name", control.CreateClusterRequest{Name: "web app"}, "InvalidParameterException", `Cluster must match ^[a-zA-Z0-9\-_]{1,255}$, but was web app`},
		{"empty tags", control.CreateClusterRequest{Name: "x", Tags: []types.Tag{}}, "ClientException", "Tags can not be empty."},
		{"bad insights value", control.CreateClusterRequest{Name: "x", Spec: ecs.ClusterSpec{Settings: insights("enhaced")}}, "InvalidParameterException", "Invalid setting 'value'"},
		{"unknown capacity provider", control.CreateClusterRequest{Name: "x", Spec: ecs.ClusterSpec{CapacityProviders: []string{"my-asg"}}}, "ClientException", ecs.MsgCapacityProviderNotFound},
		{"strategy outside the providers", control.CreateClusterRequest{Name: "x", Spec: ecs.ClusterSpec{
			CapacityProviders:               []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE_SPOT"), Weight: 1}},
		}}, "InvalidParameterException", ecs.MsgStrategyNotAssociated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateCluster(ctx, alice, tt.r)
			wantError(t, err, tt.code, tt.msg)
		})
	}
	if _, fails, _ := c.DescribeClusters(ctx, alice, []string{"x"}, nil); len(fails) != 1 {
		t.Errorf("a refused CreateCluster left a cluster behind")
	}
}

func TestDescribeClusters(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)

	// No clusters named means the default cluster, which does not exist
	// until something creates it.
	cls, fails, err := c.DescribeClusters(ctx, alice, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMissing := []types.Failure{{Arn: ptr("arn:aws:ecs:eu-west-2:123456789012:cluster/default"), Reason: ptr("MISSING")}}
	if len(cls) != 0 || !cmp.Equal(wantMissing, fails, ignoreUnexported) {
		t.Errorf("DescribeClusters() = %v, %v; want MISSING default", cls, fails)
	}

	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Tags: []types.Tag{{Key: ptr("k"), Value: ptr("v")}}})
	webARN := "arn:aws:ecs:eu-west-2:123456789012:cluster/web"
	otherAccount := "arn:aws:ecs:eu-west-2:999999999999:cluster/web"
	cls, fails, err = c.DescribeClusters(ctx, alice, []string{"nope", webARN, otherAccount, "bad name", "arn:aws:ecs:eu-west-2:123456789012:service/web/x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cls) != 1 || *cls[0].ClusterArn != webARN {
		t.Errorf("clusters = %v, want web only", cls)
	}
	wantFails := []types.Failure{
		{Arn: ptr("arn:aws:ecs:eu-west-2:123456789012:cluster/nope"), Reason: ptr("MISSING")},
		{Arn: ptr(otherAccount), Reason: ptr("MISSING")},
		{Arn: ptr("arn:aws:ecs:eu-west-2:123456789012:cluster/bad name"), Reason: ptr("MISSING")},
		{Arn: ptr("arn:aws:ecs:eu-west-2:123456789012:service/web/x"), Reason: ptr("MISSING")},
	}
	if diff := cmp.Diff(wantFails, fails, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	// Another region does not see the cluster.
	if _, fails, _ := c.DescribeClusters(ctx, bob, []string{"web"}, nil); len(fails) != 1 {
		t.Errorf("bob sees alice's cluster")
	}

	tests := []struct {
		include []types.ClusterField
		check   func(t *testing.T, cl types.Cluster)
	}{
		{nil, func(t *testing.T, cl types.Cluster) {
			if len(cl.Settings) != 0 || cl.Settings == nil || len(cl.Tags) != 0 || cl.Tags == nil ||
				len(cl.Statistics) != 0 || cl.Attachments != nil || cl.Configuration != nil {
				t.Errorf("without include: %+v", cl)
			}
		}},
		{[]types.ClusterField{types.ClusterFieldSettings}, func(t *testing.T, cl types.Cluster) {
			if !cmp.Equal(insights("disabled"), cl.Settings, ignoreUnexported) {
				t.Errorf("settings = %v", cl.Settings)
			}
		}},
		{[]types.ClusterField{types.ClusterFieldTags}, func(t *testing.T, cl types.Cluster) {
			if len(cl.Tags) != 1 || *cl.Tags[0].Key != "k" {
				t.Errorf("tags = %v", cl.Tags)
			}
		}},
		{[]types.ClusterField{types.ClusterFieldStatistics}, func(t *testing.T, cl types.Cluster) {
			if len(cl.Statistics) != 16 || *cl.Statistics[0].Name != "runningEC2TasksCount" {
				t.Errorf("statistics = %v", cl.Statistics)
			}
		}},
		{[]types.ClusterField{types.ClusterFieldAttachments}, func(t *testing.T, cl types.Cluster) {
			if cl.Attachments == nil || len(cl.Attachments) != 0 || cl.AttachmentsStatus != nil {
				t.Errorf("attachments = %v, status %v", cl.Attachments, cl.AttachmentsStatus)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(fmtFields(tt.include), func(t *testing.T) {
			tt.check(t, clTestDescribe(t, c, alice, "web", tt.include...))
		})
	}

	_, _, err = c.DescribeClusters(ctx, alice, make([]string, 101), nil)
	wantError(t, err, "InvalidParameterException", "clusters can have at most 100 items.")
}

func fmtFields(fs []types.ClusterField) string {
	if len(fs) == 0 {
		return "none"
	}
	return string(fs[0])
}

func TestClusterCountsAndStatistics(t *testing.T) {
	c, _ := newControl(t)
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Spec: ecs.ClusterSpec{
		CapacityProviders:               []string{"FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE_SPOT"), Weight: 1}},
	}})
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "other"})
	clTestPutTask(t, c, alice, "web", "00000000000000000000000000000001", store.TaskRunning, types.LaunchTypeFargate, "")
	clTestPutTask(t, c, alice, "web", "00000000000000000000000000000002", store.TaskRunning, "", "FARGATE_SPOT")
	clTestPutTask(t, c, alice, "web", "00000000000000000000000000000003", ecs.TaskProvisioning, types.LaunchTypeFargate, "")
	clTestPutTask(t, c, alice, "web", "00000000000000000000000000000004", store.TaskPending, types.LaunchTypeEc2, "")
	clTestPutTask(t, c, alice, "web", "00000000000000000000000000000005", store.TaskStopped, types.LaunchTypeFargate, "")
	clTestPutTask(t, c, alice, "other", "00000000000000000000000000000006", store.TaskRunning, types.LaunchTypeFargate, "")
	clTestPutService(t, c, alice, "web", "a", store.ServiceActive, types.LaunchTypeFargate)
	clTestPutService(t, c, alice, "web", "b", store.ServiceDraining, types.LaunchTypeEc2)
	clTestPutService(t, c, alice, "web", "c", store.ServiceActive, "") // cluster default strategy: Fargate
	clTestPutService(t, c, alice, "web", "d", store.ServiceInactive, types.LaunchTypeFargate)

	cl := clTestDescribe(t, c, alice, "web", types.ClusterFieldStatistics)
	if cl.RunningTasksCount != 2 || cl.PendingTasksCount != 2 || cl.ActiveServicesCount != 3 || cl.RegisteredContainerInstancesCount != 3 {
		t.Errorf("counts running %d pending %d services %d instances %d, want 2 2 3 3 (the simulated instances)",
			cl.RunningTasksCount, cl.PendingTasksCount, cl.ActiveServicesCount, cl.RegisteredContainerInstancesCount)
	}
	got := map[string]string{}
	var order []string
	for _, kv := range cl.Statistics {
		got[*kv.Name] = *kv.Value
		order = append(order, *kv.Name)
	}
	wantOrder := []string{
		"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
		"runningExternalTasksCount", "pendingExternalTasksCount", "runningManagedInstancesTasksCount", "pendingManagedInstancesTasksCount",
		"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
		"activeExternalServiceCount", "drainingExternalServiceCount", "activeManagedInstancesServiceCount", "drainingManagedInstancesServiceCount",
	}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("statistics order (-want +got):\n%s", diff)
	}
	nonZero := map[string]string{}
	for k, v := range got {
		if v != "0" {
			nonZero[k] = v
		}
	}
	want := map[string]string{
		"runningFargateTasksCount": "2", "pendingFargateTasksCount": "1", "pendingEC2TasksCount": "1",
		"activeFargateServiceCount": "2", "drainingEC2ServiceCount": "1",
	}
	if diff := cmp.Diff(want, nonZero); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}
}

func TestDeleteCluster(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Tags: []types.Tag{{Key: ptr("old"), Value: ptr("tag")}}})

	_, err := c.DeleteCluster(ctx, alice, "nope")
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")

	clTestPutService(t, c, alice, "web", "svc", store.ServiceDraining, types.LaunchTypeFargate)
	_, err = c.DeleteCluster(ctx, alice, "web")
	wantError(t, err, "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
	clTestPutService(t, c, alice, "web", "svc", store.ServiceInactive, types.LaunchTypeFargate)

	const id = "0123456789abcdef0123456789abcdef"
	clTestPutTask(t, c, alice, "web", id, store.TaskPending, types.LaunchTypeFargate, "")
	_, err = c.DeleteCluster(ctx, alice, "web")
	wantError(t, err, "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
	clTestPutTask(t, c, alice, "web", id, store.TaskStopped, types.LaunchTypeFargate, "")

	deleted, err := c.DeleteCluster(ctx, alice, "arn:aws:ecs:eu-west-2:123456789012:cluster/web")
	if err != nil {
		t.Fatal(err)
	}
	if *deleted.Status != "INACTIVE" {
		t.Errorf("status = %s, want INACTIVE", *deleted.Status)
	}
	if d := clTestDescribe(t, c, alice, "web"); *d.Status != "INACTIVE" {
		t.Errorf("described status = %s, want INACTIVE", *d.Status)
	}
	again, err := c.DeleteCluster(ctx, alice, "web")
	if err != nil || *again.Status != "INACTIVE" {
		t.Errorf("deleting again = %v, %v; want the INACTIVE cluster", again.Status, err)
	}

	// Changing a deleted cluster: ECS's ClusterNotFoundException with the
	// INACTIVE wording.
	const inactive = "The referenced cluster was inactive."
	_, err = c.UpdateClusterSettings(ctx, alice, "web", insights("enabled"))
	wantError(t, err, "ClusterNotFoundException", inactive)
	_, err = c.UpdateCluster(ctx, alice, control.UpdateClusterRequest{Cluster: "web"})
	wantError(t, err, "ClusterNotFoundException", inactive)
	_, err = c.PutClusterCapacityProviders(ctx, alice, "web", []string{"FARGATE"}, nil)
	wantError(t, err, "ClusterNotFoundException", inactive)
	webARN := ecs.ClusterARN(alice.Region, alice.Account, "web")
	_, err = c.ListTagsForResource(ctx, alice, webARN)
	wantError(t, err, "InvalidParameterException", ecs.MsgTagInactiveCluster)

	// Creating the name again makes a new ACTIVE cluster without the old
	// one's tags.
	re := clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web"})
	if *re.Status != "ACTIVE" {
		t.Errorf("recreated status = %s", *re.Status)
	}
	tags, err := c.ListTagsForResource(ctx, alice, webARN)
	if err != nil || len(tags) != 0 {
		t.Errorf("recreated cluster tags = %v, %v; want none", tags, err)
	}
}

func TestListClusters(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	for _, n := range []string{"e", "a", "d", "b", "c"} {
		clTestCreate(t, c, alice, control.CreateClusterRequest{Name: n})
	}
	clTestCreate(t, c, bob, control.CreateClusterRequest{Name: "elsewhere"})
	if _, err := c.DeleteCluster(ctx, alice, "d"); err != nil {
		t.Fatal(err)
	}
	var got []string
	next := ""
	for range 10 {
		arns, tok, err := c.ListClusters(ctx, alice, ptr(int32(2)), next)
		if err != nil {
			t.Fatal(err)
		}
		if len(arns) > 2 {
			t.Fatalf("page of %d", len(arns))
		}
		got = append(got, arns...)
		if next = tok; next == "" {
			break
		}
	}
	var want []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, ecs.ClusterARN(alice.Region, alice.Account, n))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	_, _, err := c.ListClusters(ctx, alice, ptr(int32(101)), "")
	wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 100.")
	_, _, err = c.ListClusters(ctx, alice, nil, "garbage")
	wantError(t, err, "InvalidParameterException", "Invalid nextToken: the token is malformed or was issued for a different request.")
}

func TestUpdateCluster(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Spec: ecs.ClusterSpec{
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: ptr("ns")},
	}})

	cfg := &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingNone}}
	got, err := c.UpdateCluster(ctx, alice, control.UpdateClusterRequest{Cluster: "web", Configuration: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(cfg, got.Configuration, ignoreUnexported) || !cmp.Equal(insights("disabled"), got.Settings, ignoreUnexported) ||
		got.ServiceConnectDefaults == nil || *got.ServiceConnectDefaults.Namespace != "ns" {
		t.Errorf("UpdateCluster(configuration) = %+v", got)
	}
	// An empty namespace removes the Service Connect defaults.
	got, err = c.UpdateCluster(ctx, alice, control.UpdateClusterRequest{Cluster: "web", ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: ptr("")}})
	if err != nil || got.ServiceConnectDefaults != nil {
		t.Errorf("UpdateCluster(namespace \"\") = %v, %v", got.ServiceConnectDefaults, err)
	}
	got, err = c.UpdateClusterSettings(ctx, alice, "web", insights("enabled"))
	if err != nil || !cmp.Equal(insights("enabled"), got.Settings, ignoreUnexported) {
		t.Errorf("UpdateClusterSettings = %v, %v", got.Settings, err)
	}
	if d := clTestDescribe(t, c, alice, "web", types.ClusterFieldSettings, types.ClusterFieldConfigurations); !cmp.Equal(insights("enabled"), d.Settings, ignoreUnexported) || !cmp.Equal(cfg, d.Configuration, ignoreUnexported) {
		t.Errorf("described after update: settings %v configuration %v", d.Settings, d.Configuration)
	}

	_, err = c.UpdateClusterSettings(ctx, alice, "web", insights("on"))
	wantError(t, err, "InvalidParameterException", "Invalid setting 'value'")
	_, err = c.UpdateCluster(ctx, alice, control.UpdateClusterRequest{Cluster: "nope"})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
	_, err = c.UpdateCluster(ctx, alice, control.UpdateClusterRequest{Cluster: "arn:aws:ecs:eu-west-2:999999999999:cluster/web"})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestPutClusterCapacityProviders(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web"})

	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Base: 2, Weight: 1}, {CapacityProvider: ptr("FARGATE_SPOT"), Weight: 3}}
	got, err := c.PutClusterCapacityProviders(ctx, alice, "web", []string{"FARGATE", "FARGATE_SPOT"}, strategy)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal([]string{"FARGATE", "FARGATE_SPOT"}, got.CapacityProviders) || !cmp.Equal(strategy, got.DefaultCapacityProviderStrategy, ignoreUnexported) {
		t.Errorf("PutClusterCapacityProviders = %v %v", got.CapacityProviders, got.DefaultCapacityProviderStrategy)
	}
	d := clTestDescribe(t, c, alice, "web")
	if !cmp.Equal([]string{"FARGATE", "FARGATE_SPOT"}, d.CapacityProviders) || !cmp.Equal(strategy, d.DefaultCapacityProviderStrategy, ignoreUnexported) {
		t.Errorf("described %v %v", d.CapacityProviders, d.DefaultCapacityProviderStrategy)
	}

	// A provider a service uses cannot be removed; an unused one can.
	clTestPutService(t, c, alice, "web", "spot", store.ServiceActive, "", "FARGATE_SPOT")
	_, err = c.PutClusterCapacityProviders(ctx, alice, "web", []string{"FARGATE"}, nil)
	wantError(t, err, "ResourceInUseException", "The specified capacity provider is in use and cannot be removed.")
	got, err = c.PutClusterCapacityProviders(ctx, alice, "web", []string{"FARGATE_SPOT"}, []types.CapacityProviderStrategyItem{})
	if err != nil || !cmp.Equal([]string{"FARGATE_SPOT"}, got.CapacityProviders) || got.DefaultCapacityProviderStrategy == nil || len(got.DefaultCapacityProviderStrategy) != 0 {
		t.Errorf("remove FARGATE = %v %v, %v", got.CapacityProviders, got.DefaultCapacityProviderStrategy, err)
	}

	tests := []struct {
		name      string
		providers []string
		strategy  []types.CapacityProviderStrategyItem
		code, msg string
	}{
		{"unknown provider", []string{"FARGATE", "asg"}, nil, "ClientException", ecs.MsgCapacityProviderNotFound},
		{"strategy outside", []string{"FARGATE_SPOT"}, []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE")}}, "InvalidParameterException", ecs.MsgStrategyNotAssociated},
		{"two bases", []string{"FARGATE", "FARGATE_SPOT"}, []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Base: 1}, {CapacityProvider: ptr("FARGATE_SPOT"), Base: 1}},
			"InvalidParameterException", "Only one capacity provider in a capacity provider strategy can have a base defined."},
		{"weight too high", []string{"FARGATE"}, []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Weight: 1001}},
			"InvalidParameterException", "The weight value of a capacity provider strategy must be between 0 and 1000."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutClusterCapacityProviders(ctx, alice, "web", tt.providers, tt.strategy)
			wantError(t, err, tt.code, tt.msg)
		})
	}
}

func TestDescribeCapacityProviders(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	fargate := types.CapacityProvider{
		CapacityProviderArn: ptr("arn:aws:ecs:eu-west-2:123456789012:capacity-provider/FARGATE"),
		Name:                ptr("FARGATE"), Status: types.CapacityProviderStatusActive, Tags: []types.Tag{},
	}
	spot := fargate
	spot.CapacityProviderArn, spot.Name = ptr("arn:aws:ecs:eu-west-2:123456789012:capacity-provider/FARGATE_SPOT"), ptr("FARGATE_SPOT")

	cps, fails, next, err := c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{})
	if err != nil || next != "" || len(fails) != 0 {
		t.Fatalf("DescribeCapacityProviders() = %v, %v, %q, %v", cps, fails, next, err)
	}
	if diff := cmp.Diff([]types.CapacityProvider{fargate, spot}, cps, ignoreUnexported); diff != "" {
		t.Errorf("all providers (-want +got):\n%s", diff)
	}

	cps, fails, _, err = c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{
		CapacityProviders: []string{*spot.CapacityProviderArn, "asg", "arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFails := []types.Failure{
		{Arn: ptr("arn:aws:ecs:eu-west-2:123456789012:capacity-provider/asg"), Reason: ptr("MISSING")},
		{Arn: ptr("arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE"), Reason: ptr("MISSING")},
	}
	if diff := cmp.Diff([]types.CapacityProvider{spot}, cps, ignoreUnexported); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFails, fails, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	// Pagination, one at a time.
	var names []string
	tok := ""
	for range 5 {
		cps, _, next, err := c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{MaxResults: ptr(int32(1)), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range cps {
			names = append(names, *cp.Name)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if !cmp.Equal([]string{"FARGATE", "FARGATE_SPOT"}, names) {
		t.Errorf("paged names = %v", names)
	}

	// A cluster limits the answer to its providers.
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "spot", Spec: ecs.ClusterSpec{CapacityProviders: []string{"FARGATE_SPOT"}}})
	cps, _, _, err = c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{Cluster: "spot"})
	if err != nil || len(cps) != 1 || *cps[0].Name != "FARGATE_SPOT" {
		t.Errorf("cluster providers = %v, %v", cps, err)
	}
	_, _, _, err = c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{Cluster: "nope"})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
	_, _, _, err = c.DescribeCapacityProviders(ctx, alice, control.DescribeCapacityProvidersRequest{MaxResults: ptr(int32(11))})
	wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 10.")
}
