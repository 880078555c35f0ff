package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/ecs/clusterquery"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Container instances. docs/compat.md gives the sources of every rule and
// message here.

// Limits ECS documents.
const (
	// MaxDescribeContainerInstances: "A list of up to 100 container
	// instance IDs or full ARN entries."
	MaxDescribeContainerInstances = 100
	// MaxUpdateInstancesState: "A list of up to 10 container instance IDs
	// or full ARN entries."
	MaxUpdateInstancesState = 10
	// MaxFilterLength bounds a cluster query expression ("The expression
	// can have a maximum length of 2000 characters", the placement
	// constraint's limit).
	MaxFilterLength = 2000

	msgInstancesEmpty        = "Container Instances cannot be empty."
	msgInstanceNotFound      = "The referenced container instance was not found."
	msgInstanceInvalid       = "Container instance identifier is invalid."
	msgInstanceBlank         = "containerInstance can not be blank."
	msgDescribeTooMany       = "containerInstances can have at most 100 items."
	msgUpdateStateTooMany    = "containerInstances can have at most 10 items."
	msgFilterTooLong         = "filter can have at most 2000 characters."
	msgCustomAttributesLimit = "You can apply up to 10 custom attributes for each resource."
)

// RegisterContainerInstanceRequest is RegisterContainerInstance's input in
// domain terms.
type RegisterContainerInstanceRequest struct {
	Cluster                  string
	ContainerInstanceArn     string // re-registration of a known instance
	InstanceIdentityDocument string
	// InstanceIdentityDocumentSignature is accepted and not checked: ecsd
	// holds no AWS signing key (docs/compat.md).
	InstanceIdentityDocumentSignature string
	TotalResources                    []types.Resource
	VersionInfo                       *types.VersionInfo
	Attributes                        []types.Attribute
	PlatformDevices                   []types.PlatformDevice
	Tags                              []types.Tag
}

// RegisterContainerInstance registers an instance as the ECS agent does:
// a new container instance (ECS's registration is not idempotent), or,
// with containerInstanceArn, the same instance again with its resources,
// version and standard attributes refreshed. Instances registered this way
// count as having a connected agent.
func (c *Control) RegisterContainerInstance(ctx context.Context, who Caller, r RegisterContainerInstanceRequest) (types.ContainerInstance, error) {
	if err := ecs.ValidateTags(r.Tags); err != nil {
		return types.ContainerInstance{}, err
	}
	for _, a := range r.Attributes {
		if err := ecs.ValidateAttribute(a); err != nil {
			return types.ContainerInstance{}, err
		}
	}
	identity, err := ecs.ParseInstanceIdentityDocument(r.InstanceIdentityDocument)
	if err != nil {
		return types.ContainerInstance{}, err
	}
	if identity.Region != "" && identity.Region != who.Region {
		return types.ContainerInstance{}, ecs.InvalidParameterException("The instance identity document is for region %s, not %s.", identity.Region, who.Region)
	}
	resources, err := ecs.ParseTotalResources(r.TotalResources)
	if err != nil {
		return types.ContainerInstance{}, err
	}
	for _, d := range r.PlatformDevices {
		if d.Type == types.PlatformDeviceTypeGpu && deref(d.Id) != "" && !slices.Contains(resources.GPUs, deref(d.Id)) {
			resources.GPUs, resources.HasGPU = append(resources.GPUs, deref(d.Id)), true
		}
	}
	now := c.now()
	var out types.ContainerInstance
	var cluster string
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		clRec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		cluster = clRec.Name
		attrs := r.Attributes
		var ci types.ContainerInstance
		var rec store.ContainerInstance
		if r.ContainerInstanceArn != "" {
			rec, err = findInstance(tx, who, cluster, r.ContainerInstanceArn)
			if err != nil {
				return err
			}
			if rec.Status == store.InstanceInactive {
				return ecs.ClientException("Container instance %s is inactive.", rec.ID)
			}
			if ci, err = records.ContainerInstance(rec); err != nil {
				return ecs.ServerException(err)
			}
			ci = ecs.AgentUpdateView(ci, rec.AgentUpdateRequestedAt, now)
			ci.RegisteredResources = resources.Wire()
			if r.VersionInfo != nil {
				ci.VersionInfo = r.VersionInfo
			}
			if identity.InstanceID != "" {
				ci.Ec2InstanceId = ptr(identity.InstanceID)
			}
			ci.AgentConnected = true
			ci.Version++
		} else {
			id := ecs.NewContainerInstanceID()
			ci = ecs.NewContainerInstance(ecs.ContainerInstanceParams{
				Region: who.Region, Account: who.Account, Cluster: cluster, ID: id,
				Identity: identity, Resources: resources, VersionInfo: r.VersionInfo, Now: now,
			})
			rec.Source = store.InstanceSourceAPI
		}
		attrs = append(ecs.IdentityAttributes(identity), attrs...)
		if rec, err = c.putInstance(tx, who.Scope, ci, rec.Source, rec.AgentUpdateRequestedAt); err != nil {
			return err
		}
		for _, a := range attrs {
			if err := putAttribute(tx, who.Scope, cluster, rec.ID, a); err != nil {
				return err
			}
		}
		if err := checkCustomAttributes(tx, who.Scope, cluster, rec.ID); err != nil {
			return err
		}
		if len(r.Tags) > 0 {
			if err := tx.PutTags(who.Scope, deref(ci.ContainerInstanceArn), records.FromTags(r.Tags)); err != nil {
				return ecs.ServerException(err)
			}
		}
		out, err = c.instanceView(tx, rec, true, false)
		return err
	})
	if err != nil {
		return types.ContainerInstance{}, ecs.AsError(err)
	}
	c.kickClusterServices(ctx, who, cluster)
	return out, nil
}

// putInstance stores an instance and answers its record.
func (c *Control) putInstance(tx store.Tx, scope store.Scope, ci types.ContainerInstance, source string, updateAt time.Time) (store.ContainerInstance, error) {
	rec, err := records.FromContainerInstance(scope, ci, source, updateAt)
	if err != nil {
		return store.ContainerInstance{}, ecs.ServerException(err)
	}
	if err := tx.PutContainerInstance(rec); err != nil {
		return store.ContainerInstance{}, ecs.ServerException(err)
	}
	return rec, nil
}

func putAttribute(tx store.Tx, scope store.Scope, cluster, id string, a types.Attribute) error {
	return wrapServer(tx.PutAttribute(store.Attribute{
		Scope: scope, Cluster: cluster, TargetType: string(types.TargetTypeContainerInstance),
		TargetID: id, Name: deref(a.Name), Value: deref(a.Value),
	}))
}

// checkCustomAttributes enforces ECS's limit of 10 custom attributes on
// one container instance (the ecs.* ones ECS and its agent set do not
// count).
func checkCustomAttributes(tx store.ReadTx, scope store.Scope, cluster, id string) error {
	attrs, err := tx.TargetAttributes(scope, cluster, id)
	if err != nil {
		return ecs.ServerException(err)
	}
	n := 0
	for _, a := range attrs {
		if !ecs.IsBuiltinAttribute(a.Name) && a.Name != records.AttrExternalAgent {
			n++
		}
	}
	if n > ecs.MaxCustomAttributes {
		return ecs.AttributeLimitExceededException(msgCustomAttributesLimit)
	}
	return nil
}

// findInstance resolves a container instance ID or ARN within a cluster.
// An ARN naming another cluster, account or region is an instance ECS
// cannot find.
func findInstance(tx store.ReadTx, who Caller, cluster, ident string) (store.ContainerInstance, error) {
	if ident == "" {
		return store.ContainerInstance{}, ecs.InvalidParameterException(msgInstanceBlank)
	}
	ref, ok := ecs.ParseResourceRef("container-instance", ident)
	if !ok {
		return store.ContainerInstance{}, ecs.InvalidParameterException(msgInstanceInvalid)
	}
	if ref.IsARN && (!ecs.OwnAccount(ref.Account, who.Account) || ref.Region != who.Region || ref.Cluster != "" && ref.Cluster != cluster) {
		return store.ContainerInstance{}, ecs.InvalidParameterException(msgInstanceNotFound)
	}
	rec, err := tx.ContainerInstance(who.Scope, cluster, ref.Name)
	if errors.Is(err, store.ErrNotFound) {
		return store.ContainerInstance{}, ecs.InvalidParameterException(msgInstanceNotFound)
	}
	if err != nil {
		return store.ContainerInstance{}, ecs.ServerException(err)
	}
	return rec, nil
}

// instanceView is an instance as responses show it (records.InstanceView),
// with its tags and health when asked.
func (c *Control) instanceView(tx store.ReadTx, rec store.ContainerInstance, withTags, withHealth bool) (types.ContainerInstance, error) {
	attrs, err := tx.TargetAttributes(rec.Scope, rec.Cluster, rec.ID)
	if err != nil {
		return types.ContainerInstance{}, ecs.ServerException(err)
	}
	placed, err := tx.PlacedTasks(rec.Scope, rec.Cluster, rec.ID)
	if err != nil {
		return types.ContainerInstance{}, ecs.ServerException(err)
	}
	now := c.now()
	ci, err := records.InstanceView(rec, attrs, placed, now)
	if err != nil {
		return types.ContainerInstance{}, ecs.ServerException(err)
	}
	if withTags {
		tags, err := tx.Tags(store.ContainerInstanceARN(rec.Scope, rec.Cluster, rec.ID))
		if err != nil {
			return types.ContainerInstance{}, ecs.ServerException(err)
		}
		ci.Tags = records.Tags(tags)
	}
	if withHealth {
		ci.HealthStatus = ecs.ContainerInstanceHealth(ci, now)
	}
	return ci, nil
}

// kickClusterServices tells the service scheduler that a cluster's
// capacity changed, so services waiting to place tasks try again.
func (c *Control) kickClusterServices(ctx context.Context, who Caller, cluster string) {
	if c.Notifier == nil {
		return
	}
	var arns []string
	_ = c.Store.View(ctx, func(tx store.ReadTx) error {
		svcs, err := tx.Services(who.Scope, store.ServicesQuery{Cluster: cluster, Statuses: []string{store.ServiceActive, store.ServiceDraining}})
		if err != nil {
			return err
		}
		for _, s := range svcs {
			arns = append(arns, store.ServiceARN(who.Scope, cluster, s.Name))
		}
		return nil
	})
	for _, a := range arns {
		c.notify(TopicService, a)
	}
}

// DescribeContainerInstances describes up to 100 instances of a cluster,
// INACTIVE ones included. Unknown ones are failures with reason MISSING.
func (c *Control) DescribeContainerInstances(ctx context.Context, who Caller, cluster string, idents []string, include []types.ContainerInstanceField) ([]types.ContainerInstance, []types.Failure, error) {
	switch {
	case len(idents) == 0:
		return nil, nil, ecs.ClientException(msgInstancesEmpty)
	case len(idents) > MaxDescribeContainerInstances:
		return nil, nil, ecs.InvalidParameterException(msgDescribeTooMany)
	}
	withTags := slices.Contains(include, types.ContainerInstanceFieldTags)
	withHealth := slices.Contains(include, types.ContainerInstanceFieldContainerInstanceHealth)
	out, failures := []types.ContainerInstance{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := describeCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, ident := range idents {
			rec, err := findInstance(tx, who, clRec.Name, ident)
			var e *ecs.Error
			if errors.As(err, &e) && e.Code == "InvalidParameterException" {
				failures = append(failures, missing(containerInstanceARN(who, clRec.Name, ident)))
				continue
			}
			if err != nil {
				return err
			}
			ci, err := c.instanceView(tx, rec, withTags, withHealth)
			if err != nil {
				return err
			}
			out = append(out, ci)
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	return out, failures, nil
}

// ListContainerInstancesRequest is ListContainerInstances' input.
type ListContainerInstancesRequest struct {
	Cluster    string
	Filter     string
	Status     types.ContainerInstanceStatus
	MaxResults *int32
	NextToken  string
}

// ListContainerInstances lists the ARNs of a cluster's instances in ID
// order: those with the status asked for, else every instance that is not
// INACTIVE; with a filter, those the cluster query expression matches.
func (c *Control) ListContainerInstances(ctx context.Context, who Caller, r ListContainerInstancesRequest) ([]string, string, error) {
	limit, err := pageSize(r.MaxResults)
	if err != nil {
		return nil, "", err
	}
	var expr *clusterquery.Expr
	if r.Filter != "" {
		if len(r.Filter) > MaxFilterLength {
			return nil, "", ecs.InvalidParameterException(msgFilterTooLong)
		}
		if expr, err = clusterquery.Parse(r.Filter); err != nil {
			return nil, "", ecs.InvalidParameterException("Invalid filter expression %q: %s.", r.Filter, err.Error())
		}
	}
	statuses := []string{store.InstanceActive, store.InstanceDraining}
	if r.Status != "" {
		statuses = []string{string(r.Status)}
	}
	arns := []string{}
	var next string
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		query := fmt.Sprintf("instances|%s|%s|%s", clRec.Name, r.Status, r.Filter)
		q := store.ContainerInstancesQuery{Cluster: clRec.Name, Statuses: statuses}
		if r.NextToken != "" {
			if err := decodeToken(r.NextToken, query, &q.After); err != nil {
				return err
			}
		}
		var placed []store.PlacedTask
		if expr != nil {
			if placed, err = tx.PlacedTasks(who.Scope, clRec.Name, ""); err != nil {
				return ecs.ServerException(err)
			}
		}
		// With a filter a page may need to read past instances that do
		// not match; without one, a page is one read.
		q.Limit = limit + 1
		if expr != nil {
			q.Limit = 0
		}
		recs, err := tx.ContainerInstances(who.Scope, q)
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, rec := range recs {
			if expr != nil {
				attrs, err := tx.TargetAttributes(who.Scope, rec.Cluster, rec.ID)
				if err != nil {
					return ecs.ServerException(err)
				}
				ci, err := records.InstanceView(rec, attrs, placed, c.now())
				if err != nil {
					return ecs.ServerException(err)
				}
				if !expr.Match(queryTarget(ci, placed, rec.ID)) {
					continue
				}
			}
			if len(arns) == limit {
				next = encodeToken(query, instanceIDOf(arns[len(arns)-1]))
				break
			}
			arns = append(arns, store.ContainerInstanceARN(who.Scope, rec.Cluster, rec.ID))
		}
		return nil
	})
	if err != nil {
		return nil, "", ecs.AsError(err)
	}
	return arns, next, nil
}

func instanceIDOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// queryTarget is what the cluster query language sees of an instance.
func queryTarget(ci types.ContainerInstance, placed []store.PlacedTask, id string) *clusterquery.Target {
	t := &clusterquery.Target{
		Attributes:        map[string]string{},
		EC2InstanceID:     deref(ci.Ec2InstanceId),
		RunningTasksCount: int(ci.RunningTasksCount),
		AgentConnected:    ci.AgentConnected,
	}
	if ci.RegisteredAt != nil {
		t.RegisteredAt = *ci.RegisteredAt
	}
	if ci.VersionInfo != nil {
		t.AgentVersion = deref(ci.VersionInfo.AgentVersion)
	}
	for _, a := range ci.Attributes {
		t.Attributes[deref(a.Name)] = deref(a.Value)
	}
	for _, p := range placed {
		if p.ContainerInstance == id && p.Group != "" && !slices.Contains(t.TaskGroups, p.Group) {
			t.TaskGroups = append(t.TaskGroups, p.Group)
		}
	}
	return t
}

// DeregisterContainerInstance deregisters an instance: it becomes
// INACTIVE and stays describable. With tasks on it (not STOPPED) ECS
// refuses unless force is set; forced, its tasks are orphaned, which in
// ecsd means stopped (ecsd is the instance's agent too), so services
// replace them elsewhere.
func (c *Control) DeregisterContainerInstance(ctx context.Context, who Caller, cluster, ident string, force bool) (types.ContainerInstance, error) {
	var out types.ContainerInstance
	var stopped []string
	var clusterName string
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		stopped = nil
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		clusterName = clRec.Name
		rec, err := findInstance(tx, who, clRec.Name, ident)
		if err != nil {
			return err
		}
		if rec.Status != store.InstanceInactive {
			placed, err := tx.PlacedTasks(who.Scope, clRec.Name, rec.ID)
			if err != nil {
				return ecs.ServerException(err)
			}
			if len(placed) > 0 && !force {
				return ecs.InvalidParameterException(ecs.MsgRunningTasksOnInstance)
			}
			for _, p := range placed {
				arn, err := c.orphanTask(tx, who, clRec.Name, p.ID)
				if err != nil {
					return err
				}
				stopped = append(stopped, arn)
			}
			if rec, err = c.setInstanceStatus(tx, rec, store.InstanceInactive); err != nil {
				return err
			}
		}
		out, err = c.instanceView(tx, rec, false, false)
		return err
	})
	if err != nil {
		return types.ContainerInstance{}, ecs.AsError(err)
	}
	for _, a := range stopped {
		c.notify(TopicTask, a)
	}
	c.kickClusterServices(ctx, who, clusterName)
	return out, nil
}

// ReasonInstanceDeregistered is the stopped reason of the tasks of a
// container instance deregistered with force.
const ReasonInstanceDeregistered = "Container instance deregistered"

// orphanTask stops a task whose container instance was deregistered: ecsd
// asks its runtime to stop it; a task an external agent runs is STOPPED at
// once, since no agent will report for it any more.
func (c *Control) orphanTask(tx store.Tx, who Caller, cluster, id string) (string, error) {
	rec, err := tx.Task(who.Scope, cluster, id)
	if err != nil {
		return "", ecs.ServerException(err)
	}
	task, err := records.Task(rec)
	if err != nil {
		return "", ecs.ServerException(err)
	}
	now := c.now()
	next := ecs.RequestStop(task, types.TaskStopCodeUserInitiated, ReasonInstanceDeregistered, now)
	if rec.ExternalAgent {
		next = ecs.MarkStopped(next, now)
	}
	nrec, err := records.FromTask(who.Scope, next)
	if err != nil {
		return "", ecs.ServerException(err)
	}
	if err := tx.PutTask(nrec); err != nil {
		return "", ecs.ServerException(err)
	}
	return deref(next.TaskArn), nil
}

// setInstanceStatus changes an instance's status and version.
func (c *Control) setInstanceStatus(tx store.Tx, rec store.ContainerInstance, status string) (store.ContainerInstance, error) {
	ci, err := records.ContainerInstance(rec)
	if err != nil {
		return store.ContainerInstance{}, ecs.ServerException(err)
	}
	ci = ecs.AgentUpdateView(ci, rec.AgentUpdateRequestedAt, c.now())
	ci.Status = ptr(status)
	ci.Version++
	return c.putInstance(tx, rec.Scope, ci, rec.Source, rec.AgentUpdateRequestedAt)
}

// UpdateContainerInstancesState sets up to 10 instances ACTIVE or
// DRAINING. Unknown instances are MISSING failures; a deregistered one an
// INACTIVE failure. Setting the status an instance has changes nothing.
func (c *Control) UpdateContainerInstancesState(ctx context.Context, who Caller, cluster string, idents []string, status types.ContainerInstanceStatus) ([]types.ContainerInstance, []types.Failure, error) {
	switch {
	case status != types.ContainerInstanceStatusActive && status != types.ContainerInstanceStatusDraining:
		return nil, nil, ecs.InvalidParameterException(ecs.MsgInstanceStatusValues)
	case len(idents) == 0:
		return nil, nil, ecs.ClientException(msgInstancesEmpty)
	case len(idents) > MaxUpdateInstancesState:
		return nil, nil, ecs.InvalidParameterException(msgUpdateStateTooMany)
	}
	var out []types.ContainerInstance
	var failures []types.Failure
	var clusterName string
	changed := false
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		out, failures, changed = []types.ContainerInstance{}, []types.Failure{}, false
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		clusterName = clRec.Name
		for _, ident := range idents {
			rec, err := findInstance(tx, who, clRec.Name, ident)
			var e *ecs.Error
			if errors.As(err, &e) && e.Code == "InvalidParameterException" {
				failures = append(failures, missing(containerInstanceARN(who, clRec.Name, ident)))
				continue
			}
			if err != nil {
				return err
			}
			if rec.Status == store.InstanceInactive {
				failures = append(failures, types.Failure{Arn: ptr(store.ContainerInstanceARN(who.Scope, rec.Cluster, rec.ID)),
					Reason: ptr(ecs.FailureInactive), Detail: ptr("The container instance is deregistered.")})
				continue
			}
			if rec.Status != string(status) {
				if rec, err = c.setInstanceStatus(tx, rec, string(status)); err != nil {
					return err
				}
				changed = true
			}
			ci, err := c.instanceView(tx, rec, false, false)
			if err != nil {
				return err
			}
			out = append(out, ci)
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	if changed {
		c.kickClusterServices(ctx, who, clusterName)
		c.notify(TopicInstance, store.ClusterARN(who.Scope, clusterName))
	}
	return out, failures, nil
}

// UpdateContainerAgent starts a (simulated) agent update on an instance:
// its agentUpdateStatus walks PENDING to UPDATED, and it then reports
// ecs.LatestAgentVersion.
func (c *Control) UpdateContainerAgent(ctx context.Context, who Caller, cluster, ident string) (types.ContainerInstance, error) {
	var out types.ContainerInstance
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		rec, err := findInstance(tx, who, clRec.Name, ident)
		if err != nil {
			return err
		}
		if rec.Status == store.InstanceInactive {
			return ecs.ClientException("Container instance %s is inactive.", rec.ID)
		}
		now := c.now()
		ci, err := records.ContainerInstance(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		ci = ecs.AgentUpdateView(ci, rec.AgentUpdateRequestedAt, now)
		if err := ecs.CheckAgentUpdate(ci); err != nil {
			return err
		}
		ci.AgentUpdateStatus = types.AgentUpdateStatusPending
		ci.Version++
		if rec, err = c.putInstance(tx, who.Scope, ci, rec.Source, now); err != nil {
			return err
		}
		out, err = c.instanceView(tx, rec, false, false)
		return err
	})
	if err != nil {
		return types.ContainerInstance{}, ecs.AsError(err)
	}
	return out, nil
}
