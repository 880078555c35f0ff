package control_test

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
	"github.com/ecsd/ecsd/internal/wire"
)

func ptr[T any](v T) *T { return &v }

var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

// clock is the injected time; it starts with sub-millisecond digits so
// that the tests see ECS's millisecond precision applied.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var (
	alice = control.Caller{Scope: store.Scope{Account: "123456789012", Region: "eu-west-2"}, ARN: "arn:aws:iam::123456789012:user/alice"}
	// bob shares alice's account but works in another region.
	bob = control.Caller{Scope: store.Scope{Account: "123456789012", Region: "us-east-1"}, ARN: "arn:aws:iam::123456789012:user/bob"}
)

func newControl(t *testing.T) (*control.Control, *clock) {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	clk := &clock{t: time.Date(2024, 1, 2, 3, 4, 5, 678_912_345, time.UTC)}
	c := control.New(st, nil)
	c.NowFunc = clk.Now
	// Most tests place work without creating a cluster first;
	// TestNoDefaultClusterByDefault covers the API's own behaviour.
	c.CreateDefaultCluster = true
	// EC2 tasks need container instances; TestRunTaskWithoutInstances
	// covers a cluster without any.
	c.Instances.Simulated = 3
	return c, clk
}

func def(family string) types.TaskDefinition {
	return types.TaskDefinition{
		Family: ptr(family),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("app"), Image: ptr("nginx"), Memory: ptr(int32(128))},
		},
	}
}

func register(t *testing.T, c *control.Control, who control.Caller, family string, n int) []types.TaskDefinition {
	t.Helper()
	var out []types.TaskDefinition
	for range n {
		td, err := c.RegisterTaskDefinition(context.Background(), who, def(family), nil)
		if err != nil {
			t.Fatalf("register %s: %v", family, err)
		}
		out = append(out, td)
	}
	return out
}

func arn(who control.Caller, family string, rev int) string {
	return ecs.TaskDefinitionARN(who.Region, who.Account, family, rev)
}

func wantError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want %s %q", err, err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Errorf("err = %s %q\n          want %s %q", e.Code, e.Message, code, msg)
	}
}

func TestRegisterTaskDefinition(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	now := clk.Now().Truncate(time.Millisecond)

	got, err := c.RegisterTaskDefinition(ctx, alice, def("web"), []types.Tag{{Key: ptr("team"), Value: ptr("web")}})
	if err != nil {
		t.Fatal(err)
	}
	want := types.TaskDefinition{
		TaskDefinitionArn: ptr("arn:aws:ecs:eu-west-2:123456789012:task-definition/web:1"),
		Family:            ptr("web"),
		Revision:          1,
		Status:            types.TaskDefinitionStatusActive,
		RegisteredAt:      &now,
		RegisteredBy:      ptr(alice.ARN),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: ptr("app"), Image: ptr("nginx"), Memory: ptr(int32(128)), Essential: ptr(true),
			PortMappings: []types.PortMapping{}, Environment: []types.KeyValuePair{}, MountPoints: []types.MountPoint{},
			VolumesFrom: []types.VolumeFrom{}, SystemControls: []types.SystemControl{},
		}},
		Volumes:              []types.Volume{},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{},
		Compatibilities:      []types.Compatibility{types.CompatibilityExternal, types.CompatibilityEc2},
		RequiresAttributes:   []types.Attribute{{Name: ptr("com.amazonaws.ecs.capability.docker-remote-api.1.18")}},
	}
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	// What Describe reads back from the store is what Register answered,
	// empty lists included.
	described, tags, err := c.DescribeTaskDefinition(ctx, alice, "web:1", true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, described, ignoreUnexported); diff != "" {
		t.Errorf("described differs from registered (-registered +described):\n%s", diff)
	}
	if diff := cmp.Diff([]types.Tag{{Key: ptr("team"), Value: ptr("web")}}, tags, ignoreUnexported); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Revisions count per family and per scope.
	for _, tt := range []struct {
		who     control.Caller
		family  string
		wantRev int32
	}{
		{alice, "web", 2},
		{alice, "web", 3},
		{alice, "api", 1},
		{bob, "web", 1},
	} {
		td, err := c.RegisterTaskDefinition(ctx, tt.who, def(tt.family), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantARN := arn(tt.who, tt.family, int(tt.wantRev))
		if td.Revision != tt.wantRev || *td.TaskDefinitionArn != wantARN {
			t.Errorf("%s in %s: revision %d arn %s, want %d %s", tt.family, tt.who.Region, td.Revision, *td.TaskDefinitionArn, tt.wantRev, wantARN)
		}
	}
}

func TestRegisterTaskDefinitionErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)

	big := def("web")
	big.ContainerDefinitions[0].Command = []string{strings.Repeat("x", ecs.MaxTaskDefinitionBytes)}
	raw, err := wire.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	justFits := def("web")
	justFits.ContainerDefinitions[0].Command = []string{""}
	base, _ := wire.Marshal(justFits)
	justFits.ContainerDefinitions[0].Command = []string{strings.Repeat("x", ecs.MaxTaskDefinitionBytes-len(base))}

	tests := []struct {
		name     string
		def      types.TaskDefinition
		tags     []types.Tag
		wantCode string // "" for success
		wantMsg  string
	}{
		{"blank family", def(""), nil, "ClientException", "Family can not be blank."},
		{"bad family", def("web app"), nil, "ClientException", "Family contains invalid characters."},
		{"empty tag list", def("web"), []types.Tag{}, "ClientException", "Tags can not be empty."},
		{"reserved tag", def("web"), []types.Tag{{Key: ptr("aws:x"), Value: ptr("y")}}, "InvalidParameterException", "Tag keys with the aws: prefix are reserved for AWS use."},
		{"too large", big, nil, "ClientException", fmt.Sprintf("Actual length: '%d'. Max allowed length is '65536' bytes.", len(raw))},
		{"exactly 64 KiB", justFits, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RegisterTaskDefinition(ctx, alice, tt.def, tt.tags)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
	// Refused registrations use up no revision number.
	td := register(t, c, alice, "web", 1)[0]
	if td.Revision != 2 {
		t.Errorf("revision after refused registrations = %d, want 2 (1 went to the 64 KiB one)", td.Revision)
	}
}

func TestRegisterTaskDefinitionConcurrent(t *testing.T) {
	c, _ := newControl(t)
	const n = 20
	revs := make(chan int32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			td, err := c.RegisterTaskDefinition(context.Background(), alice, def("web"), nil)
			if err != nil {
				t.Error(err)
				return
			}
			revs <- td.Revision
		})
	}
	wg.Wait()
	close(revs)
	var got []int
	for r := range revs {
		got = append(got, int(r))
	}
	slices.Sort(got)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
}

func TestDescribeTaskDefinition(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	register(t, c, alice, "web", 3)
	register(t, c, alice, "gone", 1)
	register(t, c, alice, "untagged", 1)
	if _, err := c.RegisterTaskDefinition(ctx, alice, def("tagged"), []types.Tag{
		{Key: ptr("b"), Value: ptr("2")}, {Key: ptr("a"), Value: ptr("1")},
	}); err != nil {
		t.Fatal(err)
	}
	deregisteredAt := clk.Advance(time.Minute).Truncate(time.Millisecond)
	for _, id := range []string{"web:3", "gone:1"} {
		if _, err := c.DeregisterTaskDefinition(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
	}

	const unable = "Unable to describe task definition."
	tests := []struct {
		ident      string
		wantRev    int32  // 0 when an error is expected
		wantStatus string // of the revision found
		wantMsg    string // ClientException message
	}{
		{ident: "web", wantRev: 2, wantStatus: "ACTIVE"}, // latest ACTIVE, not latest
		{ident: "web:1", wantRev: 1, wantStatus: "ACTIVE"},
		{ident: "web:3", wantRev: 3, wantStatus: "INACTIVE"},
		{ident: arn(alice, "web", 2), wantRev: 2, wantStatus: "ACTIVE"},
		{ident: arn(alice, "web", 3), wantRev: 3, wantStatus: "INACTIVE"},
		{ident: arn(alice, "web", 0)[:len(arn(alice, "web", 0))-2], wantRev: 2, wantStatus: "ACTIVE"}, // ARN without revision
		{ident: "gone", wantMsg: unable},                                                              // every revision INACTIVE
		{ident: "gone:1", wantRev: 1, wantStatus: "INACTIVE"},
		{ident: "web:4", wantMsg: unable},
		{ident: "nope", wantMsg: unable},
		{ident: "", wantMsg: unable},
		{ident: "web app", wantMsg: unable},
		{ident: arn(bob, "web", 1), wantMsg: unable},                                         // other region
		{ident: "arn:aws:ecs:eu-west-2:999999999999:task-definition/web:1", wantMsg: unable}, // other account
		{ident: "arn:aws:ecs:eu-west-2:123456789012:cluster/web", wantMsg: unable},
		{ident: "web:foo", wantMsg: "Invalid revision number. Number: foo"},
		{ident: "web:0", wantMsg: "Invalid revision number. Number: 0"},
	}
	for _, tt := range tests {
		t.Run(tt.ident, func(t *testing.T) {
			td, tags, err := c.DescribeTaskDefinition(ctx, alice, tt.ident, false)
			if tt.wantMsg != "" {
				wantError(t, err, "ClientException", tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if td.Revision != tt.wantRev || string(td.Status) != tt.wantStatus {
				t.Errorf("got revision %d %s, want %d %s", td.Revision, td.Status, tt.wantRev, tt.wantStatus)
			}
			if tags != nil {
				t.Errorf("tags = %v without asking for them", tags)
			}
			if (tt.wantStatus == "INACTIVE") != (td.DeregisteredAt != nil) {
				t.Errorf("status %s with deregisteredAt %v", td.Status, td.DeregisteredAt)
			}
			if td.DeregisteredAt != nil && !td.DeregisteredAt.Equal(deregisteredAt) {
				t.Errorf("deregisteredAt = %v, want %v", td.DeregisteredAt, deregisteredAt)
			}
		})
	}

	t.Run("tags", func(t *testing.T) {
		for _, tt := range []struct {
			ident string
			want  []types.Tag
		}{
			{"tagged", []types.Tag{{Key: ptr("a"), Value: ptr("1")}, {Key: ptr("b"), Value: ptr("2")}}},
			{"untagged", []types.Tag{}}, // present and empty when asked for
		} {
			_, tags, err := c.DescribeTaskDefinition(ctx, alice, tt.ident, true)
			if err != nil {
				t.Fatal(err)
			}
			if tags == nil {
				t.Errorf("%s: tags nil, want a list", tt.ident)
			}
			if diff := cmp.Diff(tt.want, tags, ignoreUnexported); diff != "" {
				t.Errorf("%s: tags (-want +got):\n%s", tt.ident, diff)
			}
		}
	})
}

func TestDeregisterTaskDefinition(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	register(t, c, alice, "web", 3)

	first := clk.Advance(time.Minute).Truncate(time.Millisecond)
	td, err := c.DeregisterTaskDefinition(ctx, alice, "web:1")
	if err != nil {
		t.Fatal(err)
	}
	if td.Status != types.TaskDefinitionStatusInactive || td.Revision != 1 {
		t.Errorf("deregistered: revision %d status %s, want 1 INACTIVE", td.Revision, td.Status)
	}
	// As recorded from ECS: the response that made the change has no
	// deregisteredAt ...
	if td.DeregisteredAt != nil {
		t.Errorf("deregister response has deregisteredAt %v", td.DeregisteredAt)
	}
	// ... but the revision has it from then on.
	described, _, err := c.DescribeTaskDefinition(ctx, alice, "web:1", false)
	if err != nil {
		t.Fatal(err)
	}
	if described.DeregisteredAt == nil || !described.DeregisteredAt.Equal(first) {
		t.Errorf("described deregisteredAt = %v, want %v", described.DeregisteredAt, first)
	}
	if diff := cmp.Diff(described, td, ignoreUnexported, cmp.FilterPath(func(p cmp.Path) bool {
		return p.String() == "DeregisteredAt"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("deregister response differs from describe beyond deregisteredAt (-describe +deregister):\n%s", diff)
	}

	// Again: success, no change, the first time kept.
	clk.Advance(time.Hour)
	again, err := c.DeregisterTaskDefinition(ctx, alice, arn(alice, "web", 1))
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != types.TaskDefinitionStatusInactive || again.DeregisteredAt == nil || !again.DeregisteredAt.Equal(first) {
		t.Errorf("second deregister: status %s deregisteredAt %v, want INACTIVE %v", again.Status, again.DeregisteredAt, first)
	}

	if _, _, err := c.DeleteTaskDefinitions(ctx, alice, []string{"web:1"}); err != nil {
		t.Fatal(err)
	}
	const missing = "The specified task definition does not exist."
	tests := []struct {
		ident string
		msg   string
	}{
		{"web", "Revision is missing."},
		{arn(alice, "web", 0)[:len(arn(alice, "web", 0))-2], "Revision is missing."},
		{"web:foo", "Invalid revision number. Number: foo"},
		{"web:-1", "Invalid revision number. Number: -1"},
		{"web:9", missing},
		{"nope:1", missing},
		{"web app:1", missing},
		{arn(bob, "web", 2), missing},
		{"arn:aws:ecs:eu-west-2:123456789012:service/web:1", "Revision is missing."},
		{"web:1", "The task definition could not be deregistered because it is in the process of being deleted."},
	}
	for _, tt := range tests {
		t.Run(tt.ident, func(t *testing.T) {
			_, err := c.DeregisterTaskDefinition(ctx, alice, tt.ident)
			wantError(t, err, "ClientException", tt.msg)
		})
	}
	// Nothing above touched the other revisions.
	for _, id := range []string{"web:2", "web:3"} {
		td, _, err := c.DescribeTaskDefinition(ctx, alice, id, false)
		if err != nil || td.Status != types.TaskDefinitionStatusActive {
			t.Errorf("%s: status %s err %v, want ACTIVE", id, td.Status, err)
		}
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	register(t, c, alice, "web", 3)
	deregisteredAt := clk.Advance(time.Minute).Truncate(time.Millisecond)
	for _, id := range []string{"web:2", "web:3"} {
		if _, err := c.DeregisterTaskDefinition(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("list size", func(t *testing.T) {
		_, _, err := c.DeleteTaskDefinitions(ctx, alice, nil)
		wantError(t, err, "InvalidParameterException", "size of TaskDefinition references list must be greater than 0")
		_, _, err = c.DeleteTaskDefinitions(ctx, alice, slices.Repeat([]string{"web:2"}, 11))
		wantError(t, err, "InvalidParameterException", "Size of TaskDefinition references list cannot exceed 10")
	})

	requestedAt := clk.Advance(time.Minute).Truncate(time.Millisecond)
	otherAccount := "arn:aws:ecs:eu-west-2:999999999999:task-definition/web:2"
	idents := []string{
		"web:1",              // ACTIVE
		"web",                // no revision
		"web:99",             // unknown
		"web:2",              // deleted
		otherAccount,         // not ours
		"web:foo",            // not a revision
		arn(alice, "web", 3), // deleted
		"web app:1",          // not a family
	}
	deleted, failures, err := c.DeleteTaskDefinitions(ctx, alice, idents)
	if err != nil {
		t.Fatal(err)
	}
	const (
		active  = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
		missing = "The specified task definition does not exist. Specify a valid account, family, revision and try again."
		invalid = "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."
	)
	// Failures name the identifier as given, in the order given.
	wantFailures := []types.Failure{
		{Arn: ptr("web:1"), Reason: ptr(active)},
		{Arn: ptr("web"), Reason: ptr(invalid)},
		{Arn: ptr("web:99"), Reason: ptr(missing)},
		{Arn: ptr(otherAccount), Reason: ptr(missing)},
		{Arn: ptr("web:foo"), Reason: ptr(invalid)},
		{Arn: ptr("web app:1"), Reason: ptr(invalid)},
	}
	if diff := cmp.Diff(wantFailures, failures, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	var got []string
	for _, td := range deleted {
		got = append(got, fmt.Sprintf("%s %s dereg=%v delreq=%v", *td.TaskDefinitionArn, td.Status,
			td.DeregisteredAt != nil && td.DeregisteredAt.Equal(deregisteredAt),
			td.DeleteRequestedAt != nil && td.DeleteRequestedAt.Equal(requestedAt)))
	}
	wantDeleted := []string{
		arn(alice, "web", 2) + " DELETE_IN_PROGRESS dereg=true delreq=true",
		arn(alice, "web", 3) + " DELETE_IN_PROGRESS dereg=true delreq=true",
	}
	if diff := cmp.Diff(wantDeleted, got); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if len(deleted) > 0 && (deleted[0].ContainerDefinitions == nil || deleted[0].RegisteredBy == nil) {
		t.Errorf("deleted revision is not the full definition: %+v", deleted[0])
	}

	// Describe and List see DELETE_IN_PROGRESS at once.
	td, _, err := c.DescribeTaskDefinition(ctx, alice, "web:2", false)
	if err != nil || td.Status != types.TaskDefinitionStatusDeleteInProgress {
		t.Errorf("describe web:2: status %s err %v, want DELETE_IN_PROGRESS", td.Status, err)
	}
	arns, _, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{Status: types.TaskDefinitionStatusDeleteInProgress})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{arn(alice, "web", 2), arn(alice, "web", 3)}, arns); diff != "" {
		t.Errorf("DELETE_IN_PROGRESS listing (-want +got):\n%s", diff)
	}

	// Deleting again returns the revision again with its first request time.
	clk.Advance(time.Hour)
	deleted, failures, err = c.DeleteTaskDefinitions(ctx, alice, []string{"web:2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 0 || len(deleted) != 1 || deleted[0].DeleteRequestedAt == nil || !deleted[0].DeleteRequestedAt.Equal(requestedAt) {
		t.Errorf("second delete: deleted %+v failures %+v, want web:2 with deleteRequestedAt %v", deleted, failures, requestedAt)
	}

	// Only failures: an empty, non-nil list of definitions.
	deleted, failures, err = c.DeleteTaskDefinitions(ctx, alice, []string{"web"})
	if err != nil || deleted == nil || len(deleted) != 0 || len(failures) != 1 {
		t.Errorf("all failing: deleted %#v failures %v err %v", deleted, failures, err)
	}
}

func TestListTaskDefinitions(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	register(t, c, alice, "b", 11) // revisions 9, 10, 11 sort as numbers
	register(t, c, alice, "a", 2)
	register(t, c, alice, "ab", 1)
	register(t, c, bob, "a", 1)
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "b:5"); err != nil {
		t.Fatal(err)
	}

	var asc []string
	asc = append(asc, arn(alice, "a", 1), arn(alice, "a", 2), arn(alice, "ab", 1))
	for r := 1; r <= 11; r++ {
		if r != 5 {
			asc = append(asc, arn(alice, "b", r))
		}
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)

	// all walks every page and checks that only the last lacks a token.
	all := func(t *testing.T, r control.ListTaskDefinitionsRequest) []string {
		t.Helper()
		var out []string
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("no end to the pages")
			}
			arns, next, err := c.ListTaskDefinitions(ctx, alice, r)
			if err != nil {
				t.Fatal(err)
			}
			if r.MaxResults != nil && len(arns) > int(*r.MaxResults) {
				t.Fatalf("page of %d, maxResults %d", len(arns), *r.MaxResults)
			}
			out = append(out, arns...)
			if next == "" {
				return out
			}
			r.NextToken = next
		}
	}
	tests := []struct {
		name string
		req  control.ListTaskDefinitionsRequest
		want []string
	}{
		{"default", control.ListTaskDefinitionsRequest{}, asc},
		{"pages of 1", control.ListTaskDefinitionsRequest{MaxResults: ptr(int32(1))}, asc},
		{"pages of 4", control.ListTaskDefinitionsRequest{MaxResults: ptr(int32(4))}, asc},
		{"one page exactly", control.ListTaskDefinitionsRequest{MaxResults: ptr(int32(len(asc)))}, asc},
		{"DESC", control.ListTaskDefinitionsRequest{Sort: types.SortOrderDesc, MaxResults: ptr(int32(3))}, desc},
		{"family is exact, not a prefix", control.ListTaskDefinitionsRequest{FamilyPrefix: "a", MaxResults: ptr(int32(1))},
			[]string{arn(alice, "a", 1), arn(alice, "a", 2)}},
		{"family DESC", control.ListTaskDefinitionsRequest{FamilyPrefix: "b", Sort: types.SortOrderDesc, MaxResults: ptr(int32(5))},
			[]string{arn(alice, "b", 11), arn(alice, "b", 10), arn(alice, "b", 9), arn(alice, "b", 8), arn(alice, "b", 7), arn(alice, "b", 6),
				arn(alice, "b", 4), arn(alice, "b", 3), arn(alice, "b", 2), arn(alice, "b", 1)}},
		{"INACTIVE", control.ListTaskDefinitionsRequest{Status: types.TaskDefinitionStatusInactive}, []string{arn(alice, "b", 5)}},
		{"unknown family", control.ListTaskDefinitionsRequest{FamilyPrefix: "zzz"}, nil},
		{"invalid family", control.ListTaskDefinitionsRequest{FamilyPrefix: "a b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, all(t, tt.req)); diff != "" {
				t.Errorf("listing (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("tokens are bound to their query", func(t *testing.T) {
		_, tokA, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{FamilyPrefix: "a", MaxResults: ptr(int32(1))})
		if err != nil || tokA == "" {
			t.Fatalf("first page: token %q err %v", tokA, err)
		}
		_, tokAll, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{MaxResults: ptr(int32(1))})
		if err != nil || tokAll == "" {
			t.Fatalf("first page: token %q err %v", tokAll, err)
		}
		_, tokFam, err := c.ListTaskDefinitionFamilies(ctx, alice, "", "", ptr(int32(1)), "")
		if err != nil || tokFam == "" {
			t.Fatalf("families first page: token %q err %v", tokFam, err)
		}
		const msg = "Invalid nextToken: the token is malformed or was issued for a different request."
		for _, tt := range []struct {
			name string
			req  control.ListTaskDefinitionsRequest
		}{
			{"other family", control.ListTaskDefinitionsRequest{FamilyPrefix: "b", NextToken: tokA}},
			{"no family", control.ListTaskDefinitionsRequest{NextToken: tokA}},
			{"family added", control.ListTaskDefinitionsRequest{FamilyPrefix: "a", NextToken: tokAll}},
			{"other status", control.ListTaskDefinitionsRequest{Status: types.TaskDefinitionStatusInactive, NextToken: tokAll}},
			{"other sort", control.ListTaskDefinitionsRequest{Sort: types.SortOrderDesc, NextToken: tokAll}},
			{"families token", control.ListTaskDefinitionsRequest{NextToken: tokFam}},
			{"garbage", control.ListTaskDefinitionsRequest{NextToken: "not a token"}},
			{"base64 of garbage", control.ListTaskDefinitionsRequest{NextToken: "bm90IGpzb24"}},
			{"truncated", control.ListTaskDefinitionsRequest{NextToken: tokAll[:len(tokAll)-3]}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := c.ListTaskDefinitions(ctx, alice, tt.req)
				wantError(t, err, "InvalidParameterException", msg)
			})
		}
		// The same query with an explicit default status and sort is the
		// same listing, so the token still fits.
		arns, _, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{
			Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderAsc, MaxResults: ptr(int32(1)), NextToken: tokAll})
		if err != nil {
			t.Fatalf("token with explicit defaults: %v", err)
		}
		if diff := cmp.Diff([]string{asc[1]}, arns); diff != "" {
			t.Errorf("second page (-want +got):\n%s", diff)
		}
	})

	t.Run("maxResults", func(t *testing.T) {
		for _, n := range []int32{0, -1, 101} {
			_, _, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{MaxResults: ptr(n)})
			wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 100.")
		}
		if _, _, err := c.ListTaskDefinitions(ctx, alice, control.ListTaskDefinitionsRequest{MaxResults: ptr(int32(100))}); err != nil {
			t.Errorf("maxResults 100: %v", err)
		}
	})
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	for _, f := range []string{"web", "web-api", "worker", "api", "old", "gone"} {
		register(t, c, alice, f, 1)
	}
	register(t, c, bob, "elsewhere", 1)
	for _, id := range []string{"old:1", "gone:1"} {
		if _, err := c.DeregisterTaskDefinition(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.DeleteTaskDefinitions(ctx, alice, []string{"gone:1"}); err != nil {
		t.Fatal(err)
	}

	all := func(t *testing.T, prefix string, status types.TaskDefinitionFamilyStatus, max *int32) []string {
		t.Helper()
		var out []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("no end to the pages")
			}
			fams, next, err := c.ListTaskDefinitionFamilies(ctx, alice, prefix, status, max, token)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fams...)
			if next == "" {
				return out
			}
			token = next
		}
	}
	tests := []struct {
		name   string
		prefix string
		status types.TaskDefinitionFamilyStatus
		max    *int32
		want   []string
	}{
		// A family whose only revision is DELETE_IN_PROGRESS still exists,
		// and has no ACTIVE revision.
		{"default is ACTIVE and INACTIVE", "", "", nil, []string{"api", "gone", "old", "web", "web-api", "worker"}},
		{"ALL in pages of 2", "", types.TaskDefinitionFamilyStatusAll, ptr(int32(2)), []string{"api", "gone", "old", "web", "web-api", "worker"}},
		{"ACTIVE", "", types.TaskDefinitionFamilyStatusActive, ptr(int32(1)), []string{"api", "web", "web-api", "worker"}},
		{"INACTIVE", "", types.TaskDefinitionFamilyStatusInactive, nil, []string{"gone", "old"}},
		{"prefix is a prefix", "web", "", ptr(int32(1)), []string{"web", "web-api"}},
		{"prefix w", "w", types.TaskDefinitionFamilyStatusActive, nil, []string{"web", "web-api", "worker"}},
		{"no match", "zzz", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, all(t, tt.prefix, tt.status, tt.max)); diff != "" {
				t.Errorf("families (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("tokens are bound to their query", func(t *testing.T) {
		_, tok, err := c.ListTaskDefinitionFamilies(ctx, alice, "web", "", ptr(int32(1)), "")
		if err != nil || tok == "" {
			t.Fatalf("first page: token %q err %v", tok, err)
		}
		const msg = "Invalid nextToken: the token is malformed or was issued for a different request."
		_, _, err = c.ListTaskDefinitionFamilies(ctx, alice, "w", "", nil, tok)
		wantError(t, err, "InvalidParameterException", msg)
		_, _, err = c.ListTaskDefinitionFamilies(ctx, alice, "web", types.TaskDefinitionFamilyStatusActive, nil, tok)
		wantError(t, err, "InvalidParameterException", msg)
		_, _, err = c.ListTaskDefinitionFamilies(ctx, alice, "web", "", ptr(int32(0)), "")
		wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 100.")
	})
}
