package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDeleteTaskDefinitions(t *testing.T) {
	t.Parallel()
	s := startServer(t) // deletion waits an hour: DELETE_IN_PROGRESS stays observable
	c := s.defaultClient()
	for range 3 {
		register(t, c, "x")
	}
	deregister(t, c, "x:1")
	deregister(t, c, "x:2")

	before := time.Now().Truncate(time.Millisecond)
	foreign := arnIn("eu-west-1", defaultAccount, "x", 1)
	out, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("x:1", tdARN("x", 2), "x:3", "x:99", "x", "nope:1", "x:foo", foreign))
	if err != nil {
		t.Fatalf("DeleteTaskDefinitions: %v", err)
	}
	var got []string
	for _, td := range out.TaskDefinitions {
		got = append(got, aws.ToString(td.TaskDefinitionArn))
		if td.Status != types.TaskDefinitionStatusDeleteInProgress {
			t.Errorf("%s status = %s, want DELETE_IN_PROGRESS", *td.TaskDefinitionArn, td.Status)
		}
		if td.DeleteRequestedAt == nil || td.DeleteRequestedAt.Before(before) {
			t.Errorf("%s deleteRequestedAt = %v, want at or after %v", *td.TaskDefinitionArn, td.DeleteRequestedAt, before)
		}
		if td.DeregisteredAt == nil || td.RegisteredAt == nil || td.RegisteredBy == nil || len(td.ContainerDefinitions) != 1 {
			t.Errorf("%s is not the full revision: %+v", *td.TaskDefinitionArn, td)
		}
	}
	if diff := cmp.Diff([]string{tdARN("x", 1), tdARN("x", 2)}, got); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	failure := func(arn, reason string) types.Failure {
		return types.Failure{Arn: aws.String(arn), Reason: aws.String(reason)}
	}
	const (
		stillActive = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
		notExist    = "The specified task definition does not exist. Specify a valid account, family, revision and try again."
		invalid     = "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."
	)
	wantFailures := []types.Failure{
		failure("x:3", stillActive),
		failure("x:99", notExist),
		failure("x", invalid),
		failure("nope:1", notExist),
		failure("x:foo", invalid),
		failure(foreign, notExist),
	}
	sortFailures := cmpopts.SortSlices(func(a, b types.Failure) bool { return *a.Arn < *b.Arn })
	if diff := cmp.Diff(wantFailures, out.Failures, append(sdkOpts, sortFailures)...); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	t.Run("DELETE_IN_PROGRESS is listable and describable", func(t *testing.T) {
		arns := listAll(t, c, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress})
		if diff := cmp.Diff([]string{tdARN("x", 1), tdARN("x", 2)}, arns); diff != "" {
			t.Errorf("DELETE_IN_PROGRESS list (-want +got):\n%s", diff)
		}
		if arns := listAll(t, c, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}); len(arns) != 0 {
			t.Errorf("INACTIVE list = %v, want empty", arns)
		}
		d, err := describe(t.Context(), c, "x:1")
		if err != nil {
			t.Fatal(err)
		}
		if d.TaskDefinition.Status != types.TaskDefinitionStatusDeleteInProgress || d.TaskDefinition.DeleteRequestedAt == nil {
			t.Errorf("described status %s deleteRequestedAt %v", d.TaskDefinition.Status, d.TaskDefinition.DeleteRequestedAt)
		}
		if got := families(t, c, familiesInput("", "ALL")); !cmp.Equal(got, []string{"x"}) {
			t.Errorf("families = %v, want [x] while revisions remain", got)
		}
		// Tags stay readable until the revision is purged.
		if _, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tdARN("x", 1))}); err != nil {
			t.Errorf("ListTagsForResource on DELETE_IN_PROGRESS: %v", err)
		}
	})

	t.Run("a family whose revisions are all DELETE_IN_PROGRESS is INACTIVE", func(t *testing.T) {
		register(t, c, "y")
		deregister(t, c, "y:1")
		if _, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("y:1")); err != nil {
			t.Fatal(err)
		}
		if got := families(t, c, familiesInput("y", "INACTIVE")); !cmp.Equal(got, []string{"y"}) {
			t.Errorf("INACTIVE families with prefix y = %v, want [y]", got)
		}
		if got := families(t, c, familiesInput("y", "ACTIVE")); len(got) != 0 {
			t.Errorf("ACTIVE families with prefix y = %v, want none", got)
		}
		_, err := describe(t.Context(), c, "y")
		wantAPIError[*types.ClientException](t, err, "Unable to describe task definition.")
	})

	t.Run("deleting again returns the revision again", func(t *testing.T) {
		again, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("x:1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Failures) != 0 || len(again.TaskDefinitions) != 1 || again.TaskDefinitions[0].Status != "DELETE_IN_PROGRESS" {
			t.Errorf("second delete = %+v", again)
		}
	})

	t.Run("list size limits", func(t *testing.T) {
		_, err := c.DeleteTaskDefinitions(t.Context(), deleteInput())
		wantAPIError[*types.InvalidParameterException](t, err, "size of TaskDefinition references list must be greater than 0")

		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("x:%d", i+1)
		}
		_, err = c.DeleteTaskDefinitions(t.Context(), deleteInput(eleven...))
		wantAPIError[*types.InvalidParameterException](t, err, "Size of TaskDefinition references list cannot exceed 10")

		ten, err := c.DeleteTaskDefinitions(t.Context(), deleteInput(eleven[:10]...))
		if err != nil {
			t.Fatalf("ten identifiers: %v", err)
		}
		if len(ten.TaskDefinitions)+len(ten.Failures) != 10 {
			t.Errorf("ten identifiers gave %d revisions and %d failures", len(ten.TaskDefinitions), len(ten.Failures))
		}
	})
}

// TestDeletionPurges lets the sweeper run every 20ms with no delay and
// waits until the revisions are gone for good.
func TestDeletionPurges(t *testing.T) {
	t.Parallel()
	s := startServer(t, withDeletion(0, 20*time.Millisecond))
	c := s.defaultClient()

	register(t, c, "purge", tag("k", "v"))
	register(t, c, "purge")
	register(t, c, "partial")
	register(t, c, "partial")
	for _, id := range []string{"purge:1", "purge:2", "partial:1"} {
		deregister(t, c, id)
	}
	out, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("purge:1", "purge:2", "partial:1"))
	if err != nil || len(out.TaskDefinitions) != 3 {
		t.Fatalf("DeleteTaskDefinitions = %+v, %v", out, err)
	}

	waitFor(t, 10*time.Second, "the deleted revisions to be purged", func() error {
		for _, id := range []string{"purge:1", "purge:2", "partial:1", tdARN("purge", 1)} {
			_, err := describe(t.Context(), c, id)
			var ce *types.ClientException
			if !errors.As(err, &ce) {
				return fmt.Errorf("describe %s: %v", id, err)
			}
			if ce.ErrorMessage() != "Unable to describe task definition." {
				t.Fatalf("describe %s: %v", id, err)
			}
		}
		return nil
	})

	if got := families(t, c, familiesInput("", "ALL")); !cmp.Equal(got, []string{"partial"}) {
		t.Errorf("families = %v, want [partial]: a family goes when its last revision does", got)
	}
	if got := families(t, c, ecs.ListTaskDefinitionFamiliesInput{}); !cmp.Equal(got, []string{"partial"}) {
		t.Errorf("default families = %v, want [partial]", got)
	}
	if arns := listAll(t, c, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}); len(arns) != 0 {
		t.Errorf("DELETE_IN_PROGRESS after purge = %v", arns)
	}
	if arns := listAll(t, c, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("partial")}); !cmp.Equal(arns, []string{tdARN("partial", 2)}) {
		t.Errorf("partial revisions = %v", arns)
	}

	_, err = c.DeregisterTaskDefinition(t.Context(), deregisterInput("purge:1"))
	wantAPIError[*types.ClientException](t, err, "The specified task definition does not exist.")
	_, err = c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tdARN("purge", 1))})
	wantAPIError[*types.ResourceNotFoundException](t, err, "The specified resource wasn't found.")
	again, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("purge:1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Failure{{Arn: aws.String("purge:1"), Reason: aws.String("The specified task definition does not exist. Specify a valid account, family, revision and try again.")}}, again.Failures, sdkOpts...); diff != "" {
		t.Errorf("delete of a purged revision (-want +got):\n%s", diff)
	}

	// Numbers are never reused.
	if td := register(t, c, "purge"); td.Revision != 3 {
		t.Errorf("revision after purge = %d, want 3", td.Revision)
	}
	if out, err := describe(t.Context(), c, "purge", types.TaskDefinitionFieldTags); err != nil || len(out.Tags) != 0 {
		t.Errorf("new revision = %+v, %v; want no tags inherited from the purged one", out, err)
	}
}
