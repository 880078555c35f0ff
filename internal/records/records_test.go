package records_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

var scope = store.Scope{Account: "123456789012", Region: "eu-west-1"}

func ptr[T any](v T) *T { return &v }

func TestFromServiceIndexesEveryRevision(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := types.Service{
		ServiceArn:     ptr("arn:aws:ecs:eu-west-1:123456789012:service/prod/web"),
		ServiceName:    ptr("web"),
		Status:         ptr("ACTIVE"),
		TaskDefinition: ptr("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"),
		CreatedAt:      &created,
		Deployments: []types.Deployment{
			{Status: ptr("PRIMARY"), TaskDefinition: ptr("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3")},
			{Status: ptr("ACTIVE"), TaskDefinition: ptr("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2")},
		},
		TaskSets: []types.TaskSet{{TaskDefinition: ptr("arn:aws:ecs:eu-west-1:123456789012:task-definition/canary:1")}},
		Tags:     []types.Tag{{Key: ptr("k"), Value: ptr("v")}},
	}
	rec, err := records.FromService(scope, svc)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Cluster != "prod" || rec.Name != "web" || rec.Status != "ACTIVE" || !rec.CreatedAt.Equal(created) {
		t.Errorf("columns: %+v", rec)
	}
	if want := (store.TaskDefinitionKey{Family: "web", Revision: 3}); rec.TaskDefinition != want {
		t.Errorf("TaskDefinition = %v, want the PRIMARY deployment's %v", rec.TaskDefinition, want)
	}
	want := []store.TaskDefinitionKey{{Family: "web", Revision: 3}, {Family: "web", Revision: 2}, {Family: "canary", Revision: 1}}
	if diff := cmp.Diff(want, rec.TaskDefinitions); diff != "" {
		t.Errorf("TaskDefinitions (-want +got):\n%s", diff)
	}
	back, err := records.Service(rec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Tags != nil {
		t.Errorf("tags were stored in the body: %v", back.Tags)
	}
}

func TestFromTaskDerivesColumns(t *testing.T) {
	stopped := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		group, wantService string
	}{
		{"service:web", "web"},
		{"family:web", ""},
		{"", ""},
	} {
		rec, err := records.FromTask(scope, types.Task{
			TaskArn:           ptr("arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"),
			TaskDefinitionArn: ptr("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"),
			Group:             ptr(tc.group),
			LastStatus:        ptr("STOPPED"),
			DesiredStatus:     ptr("STOPPED"),
			StoppedAt:         &stopped,
		})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Cluster != "prod" || rec.ID != "0123456789abcdef0123456789abcdef" || rec.Service != tc.wantService ||
			rec.TaskDefinition != (store.TaskDefinitionKey{Family: "web", Revision: 7}) || !rec.StoppedAt.Equal(stopped) {
			t.Errorf("group %q: %+v", tc.group, rec)
		}
	}
	if _, err := records.FromTask(scope, types.Task{TaskArn: ptr("arn:aws:ecs:eu-west-1:123456789012:task/no-cluster")}); err == nil {
		t.Error("a short task ARN (no cluster) was accepted")
	}
}
