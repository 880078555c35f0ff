package e2e

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestAccountAndRegionIsolation: the access key id selects the account when
// it is 12 digits, the SigV4 credential scope selects the region, and no
// (account, region) sees another's state.
func TestAccountAndRegionIsolation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	type scope struct {
		name, key, account, region string
	}
	scopes := []scope{
		{"default", defaultKey, defaultAccount, defaultRegion},
		{"account A", "111111111111", "111111111111", "us-east-1"},
		{"account B", "222222222222", "222222222222", "us-east-1"},
		{"account A elsewhere", "111111111111", "111111111111", "eu-west-1"},
		{"default account elsewhere", defaultKey, defaultAccount, "ap-southeast-2"},
	}
	clients := map[string]*ecs.Client{}
	for i, sc := range scopes {
		c := s.client(sc.key, sc.region)
		clients[sc.name] = c
		// Each scope registers "shared" a different number of times.
		var td types.TaskDefinition
		for range i + 1 {
			td = register(t, c, "shared")
		}
		if got, want := aws.ToString(td.TaskDefinitionArn), arnIn(sc.region, sc.account, "shared", i+1); got != want {
			t.Errorf("%s: ARN = %q, want %q", sc.name, got, want)
		}
		if got, want := aws.ToString(td.RegisteredBy), "arn:aws:iam::"+sc.account+":root"; got != want {
			t.Errorf("%s: registeredBy = %q, want %q", sc.name, got, want)
		}
		register(t, c, "only-"+sc.key+"-"+sc.region)
	}

	for i, sc := range scopes {
		c := clients[sc.name]
		var want []string
		for r := 1; r <= i+1; r++ {
			want = append(want, arnIn(sc.region, sc.account, "shared", r))
		}
		if got := listAll(t, c, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("shared")}); !cmp.Equal(got, want) {
			t.Errorf("%s: list = %v, want %v", sc.name, got, want)
		}
		if got := families(t, c, ecs.ListTaskDefinitionFamiliesInput{}); !cmp.Equal(got, []string{"only-" + sc.key + "-" + sc.region, "shared"}) {
			t.Errorf("%s: families = %v", sc.name, got)
		}
		for j, other := range scopes {
			if i == j {
				continue
			}
			foreign := arnIn(other.region, other.account, "shared", 1)
			_, err := describe(t.Context(), c, foreign)
			wantAPIError[*types.ClientException](t, err, "Unable to describe task definition.")
			_, err = c.DeregisterTaskDefinition(t.Context(), deregisterInput(foreign))
			wantAPIError[*types.ClientException](t, err, "The specified task definition does not exist.")
			_, err = c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(foreign)})
			wantAPIError[*types.ResourceNotFoundException](t, err, "The specified resource wasn't found.")
		}
	}

	// Deregistering in one scope leaves the same family elsewhere alone.
	deregister(t, clients["account A"], "shared:1")
	out, err := describe(t.Context(), clients["account A elsewhere"], "shared:1")
	if err != nil || out.TaskDefinition.Status != "ACTIVE" {
		t.Errorf("shared:1 in eu-west-1 = %+v, %v; want ACTIVE", out, err)
	}
}

func TestConcurrentRegistrations(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	const workers, each = 16, 25

	revs := make(chan int32, workers*each)
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
					Family:               aws.String("busy"),
					ContainerDefinitions: []types.ContainerDefinition{container("app")},
				})
				if err != nil {
					errs <- err
					continue
				}
				revs <- out.TaskDefinition.Revision
			}
		})
	}
	wg.Wait()
	close(revs)
	close(errs)
	for err := range errs {
		t.Errorf("RegisterTaskDefinition: %v", err)
	}
	var got []int32
	for r := range revs {
		got = append(got, r)
	}
	slices.Sort(got)
	want := make([]int32, workers*each)
	for i := range want {
		want[i] = int32(i + 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
	arns := listAll(t, c, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("busy"), MaxResults: aws.Int32(100)})
	if len(arns) != workers*each || arns[len(arns)-1] != tdARN("busy", workers*each) {
		t.Errorf("listed %d revisions, last %q", len(arns), arns[len(arns)-1])
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, withDataDir(dir))
	c := s.defaultClient()
	first := register(t, c, "durable", tag("k", "v"))
	register(t, c, "durable")
	register(t, c, "durable")
	deregister(t, c, "durable:2")
	deregister(t, c, "durable:3")
	if _, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("durable:3")); err != nil {
		t.Fatal(err)
	}
	other := s.client("111111111111", "eu-west-1")
	register(t, other, "elsewhere")
	oldURL := s.URL()
	s.stop(t)

	s2 := startServer(t, withDataDir(dir))
	if s2.URL() == oldURL {
		t.Logf("restarted on the same address %s", oldURL)
	}
	c = s2.defaultClient()

	out, err := describe(t.Context(), c, "durable:1", types.TaskDefinitionFieldTags)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&first, out.TaskDefinition, append(sdkOpts, cmpopts.EquateApproxTime(time.Millisecond))...); diff != "" {
		t.Errorf("durable:1 after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff([]types.Tag{tag("k", "v")}, out.Tags, sdkOpts...); diff != "" {
		t.Errorf("tags after restart (-want +got):\n%s", diff)
	}
	for ident, want := range map[string]types.TaskDefinitionStatus{"durable:2": "INACTIVE", "durable:3": "DELETE_IN_PROGRESS"} {
		out, err := describe(t.Context(), c, ident)
		if err != nil || out.TaskDefinition.Status != want {
			t.Errorf("%s after restart = %+v, %v; want %s", ident, out, err, want)
		}
	}
	if td := register(t, c, "durable"); td.Revision != 4 {
		t.Errorf("revision after restart = %d, want 4", td.Revision)
	}
	if got := families(t, s2.client("111111111111", "eu-west-1"), ecs.ListTaskDefinitionFamiliesInput{}); !cmp.Equal(got, []string{"elsewhere"}) {
		t.Errorf("eu-west-1 families after restart = %v", got)
	}

	// A deletion requested before a restart completes after it.
	s2.stop(t)
	s3 := startServer(t, withDataDir(dir), withDeletion(0, 20*time.Millisecond))
	c = s3.defaultClient()
	waitFor(t, 10*time.Second, "durable:3 to be purged after the restart", func() error {
		_, err := describe(t.Context(), c, "durable:3")
		if err == nil {
			return errors.New("durable:3 is still there")
		}
		wantAPIError[*types.ClientException](t, err, "Unable to describe task definition.")
		return nil
	})
	if td := register(t, c, "durable"); td.Revision != 5 {
		t.Errorf("revision after purge and restart = %d, want 5", td.Revision)
	}
}

// TestARNPartitionFollowsRegion: ECS writes the partition of the region
// into every ARN (arn:aws-cn:... in China, arn:aws-us-gov:... in
// GovCloud), and the caller ARN in registeredBy likewise.
func TestARNPartitionFollowsRegion(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tt := range []struct{ region, partition string }{
		{"us-east-1", "aws"},
		{"eu-central-1", "aws"},
		{"cn-north-1", "aws-cn"},
		{"cn-northwest-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"},
	} {
		t.Run(tt.region, func(t *testing.T) {
			c := s.client(defaultKey, tt.region)
			td := register(t, c, "partitioned")
			want := "arn:" + tt.partition + ":ecs:" + tt.region + ":" + defaultAccount + ":task-definition/partitioned:1"
			if got := aws.ToString(td.TaskDefinitionArn); got != want {
				t.Errorf("taskDefinitionArn = %q, want %q", got, want)
			}
			if got, want := aws.ToString(td.RegisteredBy), "arn:"+tt.partition+":iam::"+defaultAccount+":root"; got != want {
				t.Errorf("registeredBy = %q, want %q", got, want)
			}
			// The ARN ECS handed out must work as an identifier.
			if _, err := describe(t.Context(), c, want); err != nil {
				t.Errorf("describe %s: %v", want, err)
			}
			if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(want), Tags: []types.Tag{tag("k", "v")}}); err != nil {
				t.Errorf("TagResource %s: %v", want, err)
			}
		})
	}
}
