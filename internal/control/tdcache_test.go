package control_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestDescribeAfterChanges: DescribeTaskDefinition answers from its cache of
// decoded revisions only while the stored record is unchanged: a
// deregistration, a deletion and a reset followed by a new registration
// under the same name and number all show at once.
func TestDescribeAfterChanges(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	register(t, c, alice, "web", 1)
	describe := func() types.TaskDefinition {
		t.Helper()
		td, _, err := c.DescribeTaskDefinition(ctx, alice, "web:1", false)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		return td
	}
	first := describe()
	if diff := cmp.Diff(first, describe(), ignoreUnexported); diff != "" {
		t.Fatalf("second describe differs (-first +second):\n%s", diff)
	}

	clk.Advance(time.Minute)
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:1"); err != nil {
		t.Fatal(err)
	}
	if td := describe(); td.Status != types.TaskDefinitionStatusInactive || td.DeregisteredAt == nil {
		t.Fatalf("after deregistration: status %s, deregisteredAt %v", td.Status, td.DeregisteredAt)
	}
	if _, _, err := c.DeleteTaskDefinitions(ctx, alice, []string{"web:1"}); err != nil {
		t.Fatal(err)
	}
	if td := describe(); td.Status != types.TaskDefinitionStatusDeleteInProgress {
		t.Fatalf("after deletion: status %s", td.Status)
	}

	if err := c.Store.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	d := def("web")
	d.ContainerDefinitions[0].Image = ptr("nginx:2")
	if _, err := c.RegisterTaskDefinition(ctx, alice, d, nil); err != nil {
		t.Fatal(err)
	}
	td := describe()
	if got := *td.ContainerDefinitions[0].Image; got != "nginx:2" || td.Status != types.TaskDefinitionStatusActive {
		t.Fatalf("after reset and re-registration: image %s, status %s; want nginx:2, ACTIVE", got, td.Status)
	}
}

// TestDescribeManyRevisions: describing more revisions than the cache keeps
// answers each one correctly.
func TestDescribeManyRevisions(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	const n = 1100
	for i := range n {
		d := def(fmt.Sprintf("f%d", i%3))
		d.ContainerDefinitions[0].Image = ptr(fmt.Sprintf("img:%d", i))
		if _, err := c.RegisterTaskDefinition(ctx, alice, d, nil); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		for i := range n {
			td, _, err := c.DescribeTaskDefinition(ctx, alice, fmt.Sprintf("f%d:%d", i%3, i/3+1), false)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := *td.ContainerDefinitions[0].Image, fmt.Sprintf("img:%d", i); got != want {
				t.Fatalf("round %d, revision %d: image %s, want %s", round, i, got, want)
			}
		}
	}
}
