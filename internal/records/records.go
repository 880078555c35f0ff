// Package records converts between the ECS model (the SDK's types, as the
// domain and the use-cases hold them) and store records (index columns plus
// the document as wire JSON). Both the use-cases (control) and the loops
// (worker) write the same records, so the mapping lives here once.
//
// It may import store, ecs and wire; never control, worker, the protocol or
// a driver.
package records

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/wire"
)

// TaskDefinitionBody is the immutable part of a revision: everything but
// the members its lifecycle owns, which live in store columns.
func TaskDefinitionBody(td types.TaskDefinition) ([]byte, error) {
	td.TaskDefinitionArn, td.Revision, td.Status = nil, 0, ""
	td.RegisteredAt, td.DeregisteredAt, td.DeleteRequestedAt = nil, nil, nil
	return wire.Marshal(td)
}

// TaskDefinition rebuilds the revision a client sees from a stored record.
func TaskDefinition(rec store.TaskDefinition) (types.TaskDefinition, error) {
	var td types.TaskDefinition
	if err := wire.Unmarshal(rec.Body, &td); err != nil {
		return types.TaskDefinition{}, fmt.Errorf("stored task definition %s:%d: %w", rec.Family, rec.Revision, err)
	}
	td.TaskDefinitionArn = ptr(ecs.TaskDefinitionARN(rec.Region, rec.Account, rec.Family, rec.Revision))
	td.Family = ptr(rec.Family)
	td.Revision = int32(rec.Revision)
	td.Status = types.TaskDefinitionStatus(rec.Status)
	td.RegisteredAt = TimePtr(rec.RegisteredAt)
	td.DeregisteredAt = TimePtr(rec.DeregisteredAt)
	td.DeleteRequestedAt = TimePtr(rec.DeleteRequestedAt)
	return td, nil
}

// FromCluster makes the record of a cluster. Live counts are not stored:
// they are computed from tasks and services when read.
func FromCluster(scope store.Scope, c types.Cluster) (store.Cluster, error) {
	c.RunningTasksCount, c.PendingTasksCount, c.ActiveServicesCount = 0, 0, 0
	c.Statistics = nil
	c.Tags = nil // tags live in the tags table
	body, err := wire.Marshal(c)
	if err != nil {
		return store.Cluster{}, err
	}
	return store.Cluster{Scope: scope, Name: deref(c.ClusterName), Status: deref(c.Status), Body: body}, nil
}

// Cluster decodes a cluster record.
func Cluster(rec store.Cluster) (types.Cluster, error) {
	var c types.Cluster
	if err := wire.Unmarshal(rec.Body, &c); err != nil {
		return types.Cluster{}, fmt.Errorf("stored cluster %s: %w", rec.Name, err)
	}
	return c, nil
}

// FromService makes the record of a service. Its cluster and name come
// from the service ARN; the task definition from the PRIMARY deployment,
// or the service's own when it has no deployments.
func FromService(scope store.Scope, s types.Service) (store.Service, error) {
	ref, ok := ecs.ParseResourceRef("service", deref(s.ServiceArn))
	if !ok || ref.Cluster == "" {
		return store.Service{}, fmt.Errorf("service ARN %q has no cluster", deref(s.ServiceArn))
	}
	tdARN := deref(s.TaskDefinition)
	var rollout string
	for _, d := range s.Deployments {
		if deref(d.Status) == "PRIMARY" {
			tdARN = deref(d.TaskDefinition)
			rollout = string(d.RolloutState)
		}
	}
	// Every revision still referred to: deployments being drained (or kept
	// to roll back to) and task sets.
	var others []store.TaskDefinitionKey
	for _, d := range s.Deployments {
		others = append(others, taskDefinitionKey(deref(d.TaskDefinition)))
	}
	for _, ts := range s.TaskSets {
		others = append(others, taskDefinitionKey(deref(ts.TaskDefinition)))
	}
	s.Tags = nil
	body, err := wire.Marshal(s)
	if err != nil {
		return store.Service{}, err
	}
	return store.Service{
		Scope:              scope,
		Cluster:            ref.Cluster,
		Name:               ref.Name,
		Status:             deref(s.Status),
		LaunchType:         string(s.LaunchType),
		SchedulingStrategy: string(s.SchedulingStrategy),
		TaskDefinition:     taskDefinitionKey(tdARN),
		TaskDefinitions:    others,
		RolloutState:       rollout,
		CreatedAt:          derefTime(s.CreatedAt),
		Body:               body,
	}, nil
}

// Service decodes a service record.
func Service(rec store.Service) (types.Service, error) {
	var s types.Service
	if err := wire.Unmarshal(rec.Body, &s); err != nil {
		return types.Service{}, fmt.Errorf("stored service %s/%s: %w", rec.Cluster, rec.Name, err)
	}
	return s, nil
}

// FromTask makes the record of a task. A task a service started has the
// group "service:NAME", as in ECS.
func FromTask(scope store.Scope, t types.Task) (store.Task, error) {
	ref, ok := ecs.ParseResourceRef("task", deref(t.TaskArn))
	if !ok || ref.Cluster == "" {
		return store.Task{}, fmt.Errorf("task ARN %q has no cluster", deref(t.TaskArn))
	}
	service, _ := strings.CutPrefix(deref(t.Group), "service:")
	if !strings.HasPrefix(deref(t.Group), "service:") {
		service = ""
	}
	t.Tags = nil
	body, err := wire.Marshal(t)
	if err != nil {
		return store.Task{}, err
	}
	return store.Task{
		Scope:          scope,
		Cluster:        ref.Cluster,
		ID:             ref.Name,
		TaskDefinition: taskDefinitionKey(deref(t.TaskDefinitionArn)),
		Service:        service,
		StartedBy:      deref(t.StartedBy),
		LaunchType:     string(t.LaunchType),
		DesiredStatus:  deref(t.DesiredStatus),
		LastStatus:     deref(t.LastStatus),
		CreatedAt:      derefTime(t.CreatedAt),
		StoppedAt:      derefTime(t.StoppedAt),
		Group:          deref(t.Group),
		// The store keeps the placement of a task's first put; callers
		// placing a new task also set its Reservation (PlaceTask).
		ContainerInstance: instanceID(deref(t.ContainerInstanceArn)),
		Body:              body,
	}, nil
}

// instanceID is the ID part of a container instance ARN ("" for none).
func instanceID(arn string) string {
	if arn == "" {
		return ""
	}
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// Task decodes a task record.
func Task(rec store.Task) (types.Task, error) {
	var t types.Task
	if err := wire.Unmarshal(rec.Body, &t); err != nil {
		return types.Task{}, fmt.Errorf("stored task %s/%s: %w", rec.Cluster, rec.ID, err)
	}
	return t, nil
}

// FromServiceDeployment makes the record of a service deployment.
func FromServiceDeployment(scope store.Scope, d types.ServiceDeployment) (store.ServiceDeployment, error) {
	ref, ok := ecs.ParseResourceRef("service", deref(d.ServiceArn))
	if !ok {
		return store.ServiceDeployment{}, fmt.Errorf("service deployment %q: bad service ARN %q", deref(d.ServiceDeploymentArn), deref(d.ServiceArn))
	}
	body, err := wire.Marshal(d)
	if err != nil {
		return store.ServiceDeployment{}, err
	}
	return store.ServiceDeployment{
		Scope: scope, ARN: deref(d.ServiceDeploymentArn), Cluster: ref.Cluster, Service: ref.Name,
		Status: string(d.Status), CreatedAt: derefTime(d.CreatedAt), Body: body,
	}, nil
}

// ServiceDeployment decodes a service-deployment record.
func ServiceDeployment(rec store.ServiceDeployment) (types.ServiceDeployment, error) {
	var d types.ServiceDeployment
	if err := wire.Unmarshal(rec.Body, &d); err != nil {
		return types.ServiceDeployment{}, fmt.Errorf("stored service deployment %s: %w", rec.ARN, err)
	}
	return d, nil
}

// FromServiceRevision makes the record of a service revision.
func FromServiceRevision(scope store.Scope, r types.ServiceRevision) (store.ServiceRevision, error) {
	ref, ok := ecs.ParseResourceRef("service", deref(r.ServiceArn))
	if !ok {
		return store.ServiceRevision{}, fmt.Errorf("service revision %q: bad service ARN %q", deref(r.ServiceRevisionArn), deref(r.ServiceArn))
	}
	body, err := wire.Marshal(r)
	if err != nil {
		return store.ServiceRevision{}, err
	}
	return store.ServiceRevision{Scope: scope, ARN: deref(r.ServiceRevisionArn), Cluster: ref.Cluster, Service: ref.Name, Body: body}, nil
}

// ServiceRevision decodes a service-revision record.
func ServiceRevision(rec store.ServiceRevision) (types.ServiceRevision, error) {
	var r types.ServiceRevision
	if err := wire.Unmarshal(rec.Body, &r); err != nil {
		return types.ServiceRevision{}, fmt.Errorf("stored service revision %s: %w", rec.ARN, err)
	}
	return r, nil
}

// Tags converts store tags to the model's.
func Tags(tags []store.Tag) []types.Tag {
	out := make([]types.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, types.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// FromTags converts model tags to the store's.
func FromTags(tags []types.Tag) []store.Tag {
	out := make([]store.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, store.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

// taskDefinitionKey extracts family and revision from a revision ARN; a
// malformed one gives the zero key.
func taskDefinitionKey(arn string) store.TaskDefinitionKey {
	ref, err := ecs.ParseTaskDefinitionRef(arn)
	if err != nil {
		return store.TaskDefinitionKey{}
	}
	return store.TaskDefinitionKey{Family: ref.Family, Revision: ref.Revision}
}

// TimePtr returns nil for the zero time, as the model omits unset times.
func TimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
