package e2e

import (
	"encoding/json"
	"go/token"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	domain "github.com/ecsd/ecsd/internal/ecs"
)

// clIgnoreUnexported ignores the SDK's unexported no-copy markers in any
// model type.
var clIgnoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

func clusterARN(name string) string { return domain.ClusterARN(defaultRegion, defaultAccount, name) }

func createCluster(t *testing.T, c *ecs.Client, in *ecs.CreateClusterInput) types.Cluster {
	t.Helper()
	out, err := c.CreateCluster(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateCluster(%s): %v", aws.ToString(in.ClusterName), err)
	}
	return *out.Cluster
}

func describeCluster(t *testing.T, c *ecs.Client, name string, include ...types.ClusterField) types.Cluster {
	t.Helper()
	out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{name}, Include: include})
	if err != nil {
		t.Fatalf("DescribeClusters(%s): %v", name, err)
	}
	if len(out.Clusters) != 1 || len(out.Failures) != 0 {
		t.Fatalf("DescribeClusters(%s) = %+v, failures %+v", name, out.Clusters, out.Failures)
	}
	return out.Clusters[0]
}

func insightsSetting(v string) []types.ClusterSetting {
	return []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String(v)}}
}

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, withSimInstances(0)) // the shape of a new cluster, as recorded
	c := s.defaultClient()
	ctx := t.Context()

	created := createCluster(t, c, &ecs.CreateClusterInput{
		ClusterName:       aws.String("web"),
		Tags:              []types.Tag{tag("team", "web")},
		Settings:          insightsSetting("enhanced"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 4},
		},
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault}},
	})
	if aws.ToString(created.ClusterArn) != clusterARN("web") || aws.ToString(created.Status) != "ACTIVE" {
		t.Fatalf("created %+v", created)
	}

	t.Run("wire shape", func(t *testing.T) {
		// What is present without include, and as empty lists rather
		// than absent, is what ECS writes (docs/compat.md).
		got := s.postOK(t, "DescribeClusters", `{"clusters":["web"]}`)
		cl := got["clusters"].([]any)[0].(map[string]any)
		for k, want := range map[string]string{
			"statistics": "[]", "tags": "[]", "settings": "[]",
			"capacityProviders": `["FARGATE","FARGATE_SPOT"]`,
			"runningTasksCount": "0", "pendingTasksCount": "0", "activeServicesCount": "0", "registeredContainerInstancesCount": "0",
		} {
			b, _ := json.Marshal(cl[k])
			if string(b) != want {
				t.Errorf("%s = %s, want %s", k, b, want)
			}
		}
		for _, absent := range []string{"attachments", "attachmentsStatus", "configuration"} {
			if _, ok := cl[absent]; ok {
				t.Errorf("%s present without include", absent)
			}
		}
		if f := got["failures"].([]any); len(f) != 0 {
			t.Errorf("failures = %v", f)
		}
	})

	t.Run("include", func(t *testing.T) {
		cl := describeCluster(t, c, "web", types.ClusterFieldSettings, types.ClusterFieldTags, types.ClusterFieldConfigurations, types.ClusterFieldStatistics, types.ClusterFieldAttachments)
		if diff := cmp.Diff(insightsSetting("enhanced"), cl.Settings, clIgnoreUnexported); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]types.Tag{tag("team", "web")}, cl.Tags, clIgnoreUnexported); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		if cl.Configuration == nil || cl.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingDefault {
			t.Errorf("configuration = %+v", cl.Configuration)
		}
		if len(cl.Statistics) != 16 || cl.Attachments == nil {
			t.Errorf("statistics %v attachments %v", cl.Statistics, cl.Attachments)
		}
	})

	t.Run("MISSING failures", func(t *testing.T) {
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web", "nope", "arn:aws:ecs:us-east-1:111111111111:cluster/web"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []types.Failure{
			{Arn: aws.String(clusterARN("nope")), Reason: aws.String("MISSING")},
			{Arn: aws.String("arn:aws:ecs:us-east-1:111111111111:cluster/web"), Reason: aws.String("MISSING")},
		}
		if len(out.Clusters) != 1 || !cmp.Equal(want, out.Failures, clIgnoreUnexported) {
			t.Errorf("clusters %v failures %v", out.Clusters, out.Failures)
		}
		// No clusters named is the default cluster, which nothing made.
		out, err = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
		if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Arn) != clusterARN("default") {
			t.Errorf("DescribeClusters() = %+v, %v", out, err)
		}
	})

	t.Run("create again is idempotent", func(t *testing.T) {
		again := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Settings: insightsSetting("disabled")})
		if aws.ToString(again.ClusterArn) != clusterARN("web") {
			t.Errorf("again = %+v", again)
		}
		if cl := describeCluster(t, c, "web", types.ClusterFieldSettings); !cmp.Equal(insightsSetting("enhanced"), cl.Settings, clIgnoreUnexported) {
			t.Errorf("settings after second create = %v", cl.Settings)
		}
	})

	t.Run("update", func(t *testing.T) {
		out, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("web"), Settings: insightsSetting("disabled")})
		if err != nil || !cmp.Equal(insightsSetting("disabled"), out.Cluster.Settings, clIgnoreUnexported) {
			t.Fatalf("UpdateClusterSettings = %+v, %v", out, err)
		}
		up, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
			Cluster:                aws.String(clusterARN("web")),
			ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("web-ns")},
		})
		if err != nil || up.Cluster.ServiceConnectDefaults == nil || aws.ToString(up.Cluster.ServiceConnectDefaults.Namespace) != "web-ns" {
			t.Fatalf("UpdateCluster = %+v, %v", up, err)
		}
		put, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster:                         aws.String("web"),
			CapacityProviders:               []string{"FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}},
		})
		if err != nil || !cmp.Equal([]string{"FARGATE_SPOT"}, put.Cluster.CapacityProviders) {
			t.Fatalf("PutClusterCapacityProviders = %+v, %v", put, err)
		}
		cl := describeCluster(t, c, "web", types.ClusterFieldSettings)
		if !cmp.Equal([]string{"FARGATE_SPOT"}, cl.CapacityProviders) || !cmp.Equal(insightsSetting("disabled"), cl.Settings, clIgnoreUnexported) ||
			aws.ToString(cl.ServiceConnectDefaults.Namespace) != "web-ns" {
			t.Errorf("described after updates: %+v", cl)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("web"), Settings: insightsSetting("enhaced")})
		wantAPIError[*types.InvalidParameterException](t, err, "Invalid setting 'value'")
		_, err = c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("nope")})
		wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
		_, err = c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String("web"), CapacityProviders: []string{"my-asg"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{},
		})
		wantAPIError[*types.ClientException](t, err, domain.MsgCapacityProviderNotFound)
		_, err = c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("no spaces")})
		wantAPIError[*types.InvalidParameterException](t, err, `Cluster must match ^[a-zA-Z0-9\-_]{1,255}$, but was no spaces`)
		_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
		wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
	})

	t.Run("tags", func(t *testing.T) {
		arn := aws.String(clusterARN("web"))
		if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{tag("env", "prod")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil || !cmp.Equal([]types.Tag{tag("env", "prod")}, out.Tags, clIgnoreUnexported) {
			t.Errorf("ListTagsForResource = %v, %v", out, err)
		}
		_, err = c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(clusterARN("nope")), Tags: []types.Tag{tag("k", "v")}})
		wantAPIError[*types.ResourceNotFoundException](t, err, "The specified resource wasn't found.")
	})

	t.Run("delete", func(t *testing.T) {
		out, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")})
		if err != nil || aws.ToString(out.Cluster.Status) != "INACTIVE" {
			t.Fatalf("DeleteCluster = %+v, %v", out, err)
		}
		if cl := describeCluster(t, c, "web"); aws.ToString(cl.Status) != "INACTIVE" {
			t.Errorf("described status %s", aws.ToString(cl.Status))
		}
		_, err = c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("web"), Settings: insightsSetting("enabled")})
		wantAPIError[*types.ClusterNotFoundException](t, err, "The referenced cluster was inactive.")
		_, err = c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(clusterARN("web")), Tags: []types.Tag{tag("k", "v")}})
		wantAPIError[*types.InvalidParameterException](t, err, domain.MsgTagInactiveCluster)

		re := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
		if aws.ToString(re.Status) != "ACTIVE" || len(re.CapacityProviders) != 0 {
			t.Errorf("recreated = %+v", re)
		}
	})
}

func TestListClustersPaginates(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	var want []string
	for _, n := range []string{"c1", "c2", "c3", "c4", "c5"} {
		createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(n)})
		want = append(want, clusterARN(n))
	}
	var got []string
	p := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{MaxResults: aws.Int32(2)}, func(o *ecs.ListClustersPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page.ClusterArns...)
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("%d pages, clusters (-want +got):\n%s", pages, diff)
	}
	// An empty account answers "clusterArns": [].
	other := s.client("111122223333", defaultRegion)
	out, err := other.ListClusters(t.Context(), &ecs.ListClustersInput{})
	if err != nil || out.ClusterArns == nil || len(out.ClusterArns) != 0 {
		t.Errorf("other account: %+v, %v", out, err)
	}
	_, err = c.ListClusters(t.Context(), &ecs.ListClustersInput{MaxResults: aws.Int32(0)})
	wantAPIError[*types.InvalidParameterException](t, err, "maxResults must be between 1 and 100.")
}

func TestDescribeCapacityProviders(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	out, err := c.DescribeCapacityProviders(t.Context(), &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT", "my-asg"},
		Include:           []types.CapacityProviderField{types.CapacityProviderFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cp := range out.CapacityProviders {
		names = append(names, aws.ToString(cp.Name))
		if cp.Status != types.CapacityProviderStatusActive || cp.AutoScalingGroupProvider != nil ||
			aws.ToString(cp.CapacityProviderArn) != domain.CapacityProviderARN(defaultRegion, defaultAccount, aws.ToString(cp.Name)) {
			t.Errorf("provider %+v", cp)
		}
	}
	wantFail := []types.Failure{{Arn: aws.String(domain.CapacityProviderARN(defaultRegion, defaultAccount, "my-asg")), Reason: aws.String("MISSING")}}
	if !cmp.Equal([]string{"FARGATE", "FARGATE_SPOT"}, names) || !cmp.Equal(wantFail, out.Failures, clIgnoreUnexported) {
		t.Errorf("providers %v failures %v", names, out.Failures)
	}
	got := s.postOK(t, "DescribeCapacityProviders", `{}`)
	b, _ := json.Marshal(got["capacityProviders"])
	want := `[{"capacityProviderArn":"arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE","name":"FARGATE","status":"ACTIVE","tags":[]},` +
		`{"capacityProviderArn":"arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE_SPOT","name":"FARGATE_SPOT","status":"ACTIVE","tags":[]}]`
	if string(b) != want {
		t.Errorf("wire:\n got %s\nwant %s", b, want)
	}
}

// clusterWork makes the cluster "busy" hold an ACTIVE service or an
// unstopped task, and returns the task's ARN ("" for a service).
func clusterWork(t *testing.T, c *ecs.Client, kind string) string {
	t.Helper()
	td := registerFargate(t, c, "busy")
	if kind == "service" {
		createService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("busy"), ServiceName: aws.String("svc"), TaskDefinition: td.TaskDefinitionArn,
			DesiredCount: aws.Int32(0), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc,
		})
		return ""
	}
	run := runTask(t, c, &ecs.RunTaskInput{
		Cluster: aws.String("busy"), TaskDefinition: td.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc,
	})
	return aws.ToString(run[0].TaskArn)
}

func TestDeleteClusterRefusedWhileBusy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind string
		want func(t *testing.T, err error)
		// count checks the live counts DescribeClusters reports.
		count func(cl types.Cluster) bool
	}{
		{"service", func(t *testing.T, err error) {
			wantAPIError[*types.ClusterContainsServicesException](t, err, "The Cluster cannot be deleted while Services are active.")
		}, func(cl types.Cluster) bool { return cl.ActiveServicesCount == 1 }},
		{"task", func(t *testing.T, err error) {
			wantAPIError[*types.ClusterContainsTasksException](t, err, "The Cluster cannot be deleted while Tasks are active.")
		}, func(cl types.Cluster) bool { return cl.RunningTasksCount+cl.PendingTasksCount == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			c := startServer(t).defaultClient()
			createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("busy")})
			taskARN := clusterWork(t, c, tt.kind)
			_, err := c.DeleteCluster(t.Context(), &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
			tt.want(t, err)
			if cl := describeCluster(t, c, "busy"); aws.ToString(cl.Status) != "ACTIVE" || !tt.count(cl) {
				t.Errorf("after the refused delete: %+v", cl)
			}
			if taskARN == "" {
				return
			}
			// Once the task has stopped the cluster can go.
			if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Cluster: aws.String("busy"), Task: aws.String(taskARN)}); err != nil {
				t.Fatal(err)
			}
			waitStopped(t, c, "busy", taskARN)
			out, err := c.DeleteCluster(t.Context(), &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
			if err != nil || aws.ToString(out.Cluster.Status) != "INACTIVE" {
				t.Fatalf("DeleteCluster after the task stopped = %+v, %v", out, err)
			}
		})
	}
}

// A value outside an enum is answered in ECS's own words, values in the
// model's order (hashicorp/terraform-provider-aws#23342 records
// "include should be one of [ATTACHMENTS,SETTINGS,STATISTICS,TAGS]", from
// before CONFIGURATIONS joined the model).
func TestEnumValueOutsideModel(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	_, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Include: []types.ClusterField{types.ClusterFieldTags, "tags"}})
	wantAPIError[*types.InvalidParameterException](t, err, "include should be one of [ATTACHMENTS,CONFIGURATIONS,SETTINGS,STATISTICS,TAGS]")
	_, err = c.ListTasks(t.Context(), &ecs.ListTasksInput{DesiredStatus: "running"})
	wantAPIError[*types.InvalidParameterException](t, err, "desiredStatus should be one of [RUNNING,PENDING,STOPPED]")
}
