package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestDescribeTaskDefinition(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	// app:1 ACTIVE, app:2 ACTIVE with tags, app:3 INACTIVE; gone:1 INACTIVE.
	register(t, c, "app")
	register(t, c, "app", tag("team", "core"), tag("tier", "web"))
	register(t, c, "app")
	deregister(t, c, "app:3")
	register(t, c, "gone")
	deregister(t, c, "gone:1")

	tests := []struct {
		name      string
		ident     string
		include   []types.TaskDefinitionField
		wantRev   int32
		wantState types.TaskDefinitionStatus
		wantTags  []types.Tag // nil: the response has no tags
	}{
		{name: "family resolves to the latest ACTIVE revision", ident: "app", wantRev: 2, wantState: "ACTIVE"},
		{name: "family:revision", ident: "app:1", wantRev: 1, wantState: "ACTIVE"},
		{name: "ARN", ident: tdARN("app", 1), wantRev: 1, wantState: "ACTIVE"},
		{name: "INACTIVE by family:revision", ident: "app:3", wantRev: 3, wantState: "INACTIVE"},
		{name: "INACTIVE by ARN", ident: tdARN("gone", 1), wantRev: 1, wantState: "INACTIVE"},
		{name: "include TAGS", ident: "app:2", include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			wantRev: 2, wantState: "ACTIVE", wantTags: []types.Tag{tag("team", "core"), tag("tier", "web")}},
		{name: "include TAGS without tags", ident: "app:1", include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			wantRev: 1, wantState: "ACTIVE", wantTags: []types.Tag{}},
		{name: "tags only when asked", ident: "app:2", wantRev: 2, wantState: "ACTIVE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := describe(t.Context(), c, tt.ident, tt.include...)
			if err != nil {
				t.Fatalf("DescribeTaskDefinition(%s): %v", tt.ident, err)
			}
			td := out.TaskDefinition
			if td.Revision != tt.wantRev || td.Status != tt.wantState {
				t.Errorf("revision, status = %d, %s; want %d, %s", td.Revision, td.Status, tt.wantRev, tt.wantState)
			}
			if (td.Status == "INACTIVE") != (td.DeregisteredAt != nil) {
				t.Errorf("status %s with deregisteredAt %v", td.Status, td.DeregisteredAt)
			}
			if td.DeleteRequestedAt != nil {
				t.Errorf("deleteRequestedAt = %v on a revision never deleted", td.DeleteRequestedAt)
			}
			if (tt.wantTags == nil) != (out.Tags == nil) {
				t.Errorf("tags = %#v, want %#v", out.Tags, tt.wantTags)
			}
			if diff := cmp.Diff(tt.wantTags, out.Tags, sdkOpts...); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("tags on the wire", func(t *testing.T) {
		with := s.postOK(t, "DescribeTaskDefinition", `{"taskDefinition":"app:1","include":["TAGS"]}`)
		if diff := cmp.Diff([]any{}, with["tags"]); diff != "" {
			t.Errorf("tags with include and none set (-want +got):\n%s", diff)
		}
		without := s.postOK(t, "DescribeTaskDefinition", `{"taskDefinition":"app:2"}`)
		if v, ok := without["tags"]; ok {
			t.Errorf("tags without include = %v, want absent", v)
		}
	})

	notFound := []struct{ name, ident string }{
		{"unknown family", "nope"},
		{"unknown revision", "app:99"},
		{"unknown family:revision", "nope:1"},
		{"family with every revision INACTIVE", "gone"},
		{"ARN of another region", arnIn("eu-west-1", defaultAccount, "app", 1)},
		{"ARN of another account", arnIn(defaultRegion, "111111111111", "app", 1)},
		{"invalid family", "no such family!"},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			_, err := describe(t.Context(), c, tt.ident)
			wantAPIError[*types.ClientException](t, err, "Unable to describe task definition.")
		})
	}

	t.Run("ARN round-trips", func(t *testing.T) {
		out, err := describe(t.Context(), c, "app:2")
		if err != nil {
			t.Fatal(err)
		}
		again, err := describe(t.Context(), c, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(out.TaskDefinition, again.TaskDefinition, sdkOpts...); diff != "" {
			t.Errorf("by family:revision vs by ARN (-+):\n%s", diff)
		}
	})
}

func TestDeregisterTaskDefinition(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	for range 3 {
		register(t, c, "svc")
	}

	t.Run("becomes INACTIVE", func(t *testing.T) {
		td := deregister(t, c, "svc:1")
		if td.Status != types.TaskDefinitionStatusInactive || td.Revision != 1 {
			t.Fatalf("status, revision = %s, %d", td.Status, td.Revision)
		}
		// Recorded ECS responses carry no deregisteredAt on the call
		// that deregisters; Describe shows it afterwards.
		if td.DeregisteredAt != nil {
			t.Errorf("deregisteredAt in the Deregister response = %v, want absent", td.DeregisteredAt)
		}
		out, err := describe(t.Context(), c, "svc:1")
		if err != nil {
			t.Fatal(err)
		}
		if out.TaskDefinition.Status != "INACTIVE" || out.TaskDefinition.DeregisteredAt == nil {
			t.Fatalf("described status %s deregisteredAt %v", out.TaskDefinition.Status, out.TaskDefinition.DeregisteredAt)
		}
		if out.TaskDefinition.DeregisteredAt.Before(*out.TaskDefinition.RegisteredAt) {
			t.Errorf("deregisteredAt %v before registeredAt %v", out.TaskDefinition.DeregisteredAt, out.TaskDefinition.RegisteredAt)
		}

		// Again: succeeds and keeps the first deregisteredAt.
		again := deregister(t, c, tdARN("svc", 1))
		if again.Status != "INACTIVE" {
			t.Errorf("second deregister status = %s", again.Status)
		}
		if again.DeregisteredAt == nil || !again.DeregisteredAt.Equal(*out.TaskDefinition.DeregisteredAt) {
			t.Errorf("second deregister deregisteredAt = %v, want %v", again.DeregisteredAt, out.TaskDefinition.DeregisteredAt)
		}
		// The family still resolves to its latest ACTIVE revision.
		latest, err := describe(t.Context(), c, "svc")
		if err != nil || latest.TaskDefinition.Revision != 3 {
			t.Fatalf("describe svc = %v, %v; want revision 3", latest, err)
		}
	})

	errs := []struct{ name, ident, msg string }{
		{"bare family", "svc", "Revision is missing."},
		{"non-numeric revision", "svc:foo", "Invalid revision number. Number: foo"},
		{"unknown revision", "svc:99", "The specified task definition does not exist."},
		{"unknown family", "nope:1", "The specified task definition does not exist."},
		{"ARN of another account", arnIn(defaultRegion, "111111111111", "svc", 2), "The specified task definition does not exist."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DeregisterTaskDefinition(t.Context(), deregisterInput(tt.ident))
			wantAPIError[*types.ClientException](t, err, tt.msg)
		})
	}

	t.Run("family all INACTIVE then registered again", func(t *testing.T) {
		deregister(t, c, "svc:2")
		deregister(t, c, "svc:3")
		_, err := describe(t.Context(), c, "svc")
		wantAPIError[*types.ClientException](t, err, "Unable to describe task definition.")
		if got := families(t, c, familiesInput("", "INACTIVE")); !cmp.Equal(got, []string{"svc"}) {
			t.Errorf("INACTIVE families = %v, want [svc]", got)
		}
		if got := families(t, c, familiesInput("", "ACTIVE")); len(got) != 0 {
			t.Errorf("ACTIVE families = %v, want none", got)
		}

		td := register(t, c, "svc")
		if td.Revision != 4 {
			t.Errorf("revision after all INACTIVE = %d, want 4", td.Revision)
		}
		if got := families(t, c, familiesInput("", "ACTIVE")); !cmp.Equal(got, []string{"svc"}) {
			t.Errorf("ACTIVE families = %v, want [svc]", got)
		}
		if got := families(t, c, familiesInput("", "INACTIVE")); len(got) != 0 {
			t.Errorf("INACTIVE families = %v, want none", got)
		}
		latest, err := describe(t.Context(), c, "svc")
		if err != nil || latest.TaskDefinition.Revision != 4 {
			t.Fatalf("describe svc = %v, %v; want revision 4", latest, err)
		}
	})

	t.Run("DELETE_IN_PROGRESS cannot be deregistered", func(t *testing.T) {
		out, err := c.DeleteTaskDefinitions(t.Context(), deleteInput("svc:1"))
		if err != nil || len(out.TaskDefinitions) != 1 {
			t.Fatalf("DeleteTaskDefinitions = %+v, %v", out, err)
		}
		_, err = c.DeregisterTaskDefinition(t.Context(), deregisterInput("svc:1"))
		// Only this part of ECS's wording is on record (Terraform matches it).
		var ce *types.ClientException
		if !errors.As(err, &ce) || !strings.Contains(ce.ErrorMessage(), "in the process of being deleted") {
			t.Fatalf("error = %v, want a ClientException containing %q", err, "in the process of being deleted")
		}
		// The failed call changed nothing.
		got, err := describe(t.Context(), c, "svc:1")
		if err != nil || got.TaskDefinition.Status != types.TaskDefinitionStatusDeleteInProgress {
			t.Fatalf("describe svc:1 = %+v, %v; want DELETE_IN_PROGRESS", got, err)
		}
	})
}
