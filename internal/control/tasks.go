package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile/capacity"
	"github.com/ecsd/ecsd/internal/reconcile/service"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Task limits and messages ECS writes; docs/compat.md gives their sources.
const (
	// MaxRunTaskCount is the most tasks one RunTask starts.
	MaxRunTaskCount = 10
	// MaxDescribeTasks is the most tasks one DescribeTasks names.
	MaxDescribeTasks = 100
	// MaxStartTaskInstances is the most container instances one StartTask
	// names ("You can specify up to 10 container instances").
	MaxStartTaskInstances = 10

	msgTaskDefinitionInactive = "TaskDefinition is inactive"
	msgTaskDefinitionNotFound = "TaskDefinition not found."
	msgCountTooHigh           = "Task count can not be greater than 10"
	msgCountTooLow            = "Task count must be greater than 0"
	msgLaunchTypeAndStrategy  = "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
	// MsgPlatformVersionEC2 answers a platformVersion sent with launchType
	// EC2 (RunTask and CreateService): platform versions are Fargate's.
	MsgPlatformVersionEC2     = service.MsgPlatformVersionEC2
	msgNetworkConfigRequired  = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
	msgNetworkConfigInvalid   = "Network Configuration is not valid for the given networkMode of this task definition."
	msgSubnetsEmpty           = "subnets can not be empty."
	msgAssignPublicIP         = "Assign public IP is not supported for this launch type."
	msgTasksEmpty             = "Tasks cannot be empty."
	msgTasksTooMany           = "taskIds can have at most 100 items."
	msgTaskNotFound           = "The referenced task was not found"
	msgTaskIdentifierInvalid  = "Task Identifier is invalid"
	msgContainerInstancesNone = "containerInstances can not be empty."
	msgContainerInstancesMany = "containerInstances can have at most 10 items."
	msgPropagateService       = "propagateTags SERVICE is only valid for tasks started by a service."
	msgStartedByTooLong       = "startedBy can have at most 128 characters."
	msgGroupTooLong           = "group can have at most 255 characters."
	msgFamilyFilter           = "family must match ^[a-zA-Z0-9\\-_]+$"
)

// Managed tag keys ECS adds with enableECSManagedTags.
const (
	TagClusterName = "aws:ecs:clusterName"
	TagServiceName = "aws:ecs:serviceName"
)

// RunTaskRequest is RunTask's input in domain terms.
type RunTaskRequest struct {
	Cluster                  string
	TaskDefinition           string
	Count                    *int32
	Group                    string
	StartedBy                string
	LaunchType               types.LaunchType
	CapacityProviderStrategy []types.CapacityProviderStrategyItem
	NetworkConfiguration     *types.NetworkConfiguration
	Overrides                *types.TaskOverride
	PlatformVersion          string
	PropagateTags            types.PropagateTags
	EnableECSManagedTags     bool
	EnableExecuteCommand     bool
	Tags                     []types.Tag
	PlacementStrategy        []types.PlacementStrategy
	PlacementConstraints     []types.PlacementConstraint
}

// RunTask starts Count new tasks from a task definition. The revision must
// be usable (ACTIVE, or within the inactive grace window): an INACTIVE one
// is refused with InvalidParameterException "TaskDefinition is inactive",
// as ECS answers RunTask. EC2 tasks are placed on the cluster's ACTIVE
// container instances by the placement engine, all of them in one batch,
// with the request's placementStrategy and its placementConstraints merged
// with the revision's; a cluster without any answers "No Container
// Instances were found in your cluster.", and tasks no instance can take
// are failures with ECS's reasons.
func (c *Control) RunTask(ctx context.Context, who Caller, r RunTaskRequest) ([]types.Task, []types.Failure, error) {
	count := int32(1)
	if r.Count != nil {
		count = *r.Count
	}
	switch {
	case count > MaxRunTaskCount:
		return nil, nil, ecs.InvalidParameterException(msgCountTooHigh)
	case count < 1:
		return nil, nil, ecs.InvalidParameterException(msgCountTooLow)
	}
	if err := validateTaskStart(r.StartedBy, r.Group, r.Tags); err != nil {
		return nil, nil, err
	}
	if r.LaunchType != "" && len(r.CapacityProviderStrategy) > 0 {
		return nil, nil, ecs.InvalidParameterException(msgLaunchTypeAndStrategy)
	}
	if r.LaunchType == types.LaunchTypeEc2 && r.PlatformVersion != "" {
		return nil, nil, ecs.InvalidParameterException(MsgPlatformVersionEC2)
	}
	if r.PropagateTags == types.PropagateTagsService {
		return nil, nil, ecs.InvalidParameterException(msgPropagateService)
	}
	now := c.now()
	var out []types.Task
	var failures []types.Failure
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		out, failures = nil, []types.Failure{}
		clRec, err := c.useCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		cl, err := records.Cluster(clRec)
		if err != nil {
			return ecs.ServerException(err)
		}
		tdRec, err := c.usableTaskDefinition(tx, who, r.TaskDefinition, TaskDefinitionUse{
			Inactive: ecs.InvalidParameterException(msgTaskDefinitionInactive),
			NotFound: ecs.ClientException(msgTaskDefinitionNotFound),
		})
		if err != nil {
			return err
		}
		td, err := materialize(tdRec)
		if err != nil {
			return err
		}
		placements, err := placeTasks(cl, r.LaunchType, r.CapacityProviderStrategy, int(count))
		if err != nil {
			return err
		}
		for _, lt := range uniqueLaunchTypes(placements) {
			if err := checkLaunchType(td, lt, r.NetworkConfiguration); err != nil {
				return err
			}
		}
		tags, err := c.taskTags(tx, who, clRec.Name, tdRec, r.PropagateTags, r.EnableECSManagedTags, r.Tags)
		if err != nil {
			return err
		}
		// The EC2 tasks are placed in one batch per capacity provider
		// ("" for the EC2 launch type): each reserves what it takes before
		// the next is placed. A provider's tasks go only to its instances.
		batches := map[string][]int{}
		var order []string
		for i, p := range placements {
			if p.launchType != types.LaunchTypeEc2 {
				continue
			}
			if _, ok := batches[p.provider]; !ok {
				order = append(order, p.provider)
			}
			batches[p.provider] = append(batches[p.provider], i)
		}
		placed := make([]*records.Placement, len(placements))
		skip := make([]bool, len(placements))
		provisioning := make([]bool, len(placements))
		if len(order) > 0 {
			strategies, constraints, err := records.PlacementRules(r.PlacementStrategy, td.PlacementConstraints, r.PlacementConstraints)
			if err != nil {
				return err
			}
			placer, err := records.NewPlacer(tx, who.Scope, clRec.Name, now)
			if err != nil {
				return ecs.ServerException(err)
			}
			placer.RandFunc = c.RandFunc
			group := r.Group
			if group == "" {
				group = "family:" + deref(td.Family) // as NewTask names it
			}
			for _, provider := range order {
				idx := batches[provider]
				req := records.PlaceRequest{
					Requirements: records.TaskPlacementRequirements(td, r.Overrides),
					Count:        len(idx), Group: group, Strategies: strategies, Constraints: constraints,
				}
				if provider != "" {
					req.CandidateFunc = records.OfCapacityProvider(provider)
				}
				got, failure, fs, perr := placer.PlaceReporting(req)
				if perr == nil && failure != nil && failure.NoInstances {
					// None of the provider's instances is ACTIVE.
					perr = records.ErrNoContainerInstances
				}
				if perr != nil && !errors.Is(perr, records.ErrNoContainerInstances) {
					return perr
				}
				for k := range got {
					placed[idx[k]] = &got[k]
				}
				if len(got) == len(idx) {
					continue
				}
				waits, err := records.ProviderWaits(tx, who.Scope, provider)
				if err != nil {
					return err
				}
				for _, i := range idx[len(got):] {
					switch {
					case waits:
						// Managed scaling brings the capacity; the task
						// waits in PROVISIONING.
						provisioning[i] = true
					default:
						skip[i] = true
					}
				}
				switch {
				case waits:
				case perr != nil:
					return perr
				default:
					failures = appendFailures(failures, fs)
				}
			}
		}
		for i, p := range placements {
			if skip[i] {
				continue
			}
			pl := placed[i]
			task, err := ecs.NewTask(ecs.TaskParams{
				Region: who.Region, Account: who.Account, Cluster: clRec.Name,
				TaskDefinition: td, Overrides: r.Overrides,
				StartedBy: r.StartedBy, Group: r.Group,
				LaunchType: p.launchType, CapacityProviderName: p.provider,
				NetworkConfiguration: r.NetworkConfiguration,
				Tags:                 tags, EnableExecuteCommand: r.EnableExecuteCommand,
				PlatformVersion: r.PlatformVersion, Now: now,
			})
			if err != nil {
				return err
			}
			if pl != nil {
				records.ApplyPlacement(&task, td, *pl)
			}
			var requested []byte
			if provisioning[i] {
				task.LastStatus = ptr(ecs.TaskProvisioning)
				// Placed once capacity arrives, with what was asked now.
				if requested, err = records.RequestedPlacement(r.PlacementStrategy, r.PlacementConstraints); err != nil {
					return ecs.ServerException(err)
				}
			}
			if err := c.insertTask(tx, who, task, pl, requested); err != nil {
				return err
			}
			out = append(out, task)
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	for _, t := range out {
		c.notify(TopicTask, deref(t.TaskArn))
	}
	if out == nil {
		out = []types.Task{}
	}
	return out, failures, nil
}

// appendFailures adds failures not already reported: one per instance and
// reason, however many tasks it refused.
func appendFailures(to, fs []types.Failure) []types.Failure {
	for _, f := range fs {
		if !slices.ContainsFunc(to, func(g types.Failure) bool {
			return deref(g.Arn) == deref(f.Arn) && deref(g.Reason) == deref(f.Reason)
		}) {
			to = append(to, f)
		}
	}
	return to
}

// insertTask stores a new task, its placement (nil: not on an instance),
// what its request asked of placement when it waits for capacity, and its
// tags.
func (c *Control) insertTask(tx store.Tx, who Caller, task types.Task, pl *records.Placement, requested []byte) error {
	rec, err := records.FromTask(who.Scope, task)
	if err != nil {
		return ecs.ServerException(err)
	}
	rec.RequestedPlacement = requested
	if pl != nil {
		records.PlacementRecord(&rec, *pl)
	}
	if err := tx.PutTask(rec); err != nil {
		return ecs.ServerException(err)
	}
	if len(task.Tags) > 0 {
		if err := tx.PutTags(who.Scope, deref(task.TaskArn), records.FromTags(task.Tags)); err != nil {
			return ecs.ServerException(err)
		}
	}
	return nil
}

func validateTaskStart(startedBy, group string, tags []types.Tag) error {
	if len(startedBy) > 128 {
		return ecs.InvalidParameterException(msgStartedByTooLong)
	}
	if len(group) > 255 {
		return ecs.InvalidParameterException(msgGroupTooLong)
	}
	if len(tags) == 0 {
		return nil // an empty list is no tags here, unlike on RegisterTaskDefinition
	}
	return ecs.ValidateTags(tags)
}

// taskPlacement is where one task goes: its launch type and, when a capacity
// provider placed it, the provider's name.
type taskPlacement struct {
	launchType types.LaunchType
	provider   string
}

// placeTasks decides each task's launch type: the one asked for; else the
// capacity provider strategy asked for, or the cluster's default one;
// else EC2, ECS's default. A strategy places tasks as ECS documents it:
// each provider's base first, the rest by weight.
func placeTasks(cl types.Cluster, launchType types.LaunchType, strategy []types.CapacityProviderStrategyItem, count int) ([]taskPlacement, error) {
	if launchType == "" && len(strategy) == 0 {
		strategy = cl.DefaultCapacityProviderStrategy
	}
	out := make([]taskPlacement, 0, count)
	if launchType != "" || len(strategy) == 0 {
		if launchType == "" {
			launchType = types.LaunchTypeEc2
		}
		for range count {
			out = append(out, taskPlacement{launchType: launchType})
		}
		return out, nil
	}
	for _, item := range strategy {
		name := deref(item.CapacityProvider)
		if !slices.Contains(cl.CapacityProviders, name) {
			return nil, ecs.InvalidParameterException(ecs.MsgStrategyNotAssociated)
		}
	}
	counts, err := capacity.Distribute(capacity.StrategyFrom(strategy), count, nil)
	if err != nil {
		return nil, ecs.InvalidParameterException(msgStrategyNoWeight)
	}
	// Interleave the providers' tasks in the order Distribute's
	// one-at-a-time rule hands them out, so a count cut short by
	// placement failures still follows the strategy.
	left := slices.Clone(counts)
	for len(out) < count {
		for i, item := range strategy {
			if left[i] > 0 {
				out = append(out, providerPlacement(deref(item.CapacityProvider)))
				left[i]--
			}
		}
	}
	return out, nil
}

// msgStrategyNoWeight: "If you specify multiple capacity providers in a
// strategy that all have a weight of 0, any RunTask or CreateService
// actions using the capacity provider strategy will fail." [V API
// reference]; the message is [I].
const msgStrategyNoWeight = "The specified capacity provider strategy cannot contain only capacity providers with a weight of 0 when it has more than one capacity provider."

// providerPlacement: FARGATE and FARGATE_SPOT run Fargate tasks; any
// other provider would be an Auto Scaling group of EC2 instances.
func providerPlacement(name string) taskPlacement {
	if ecs.IsBuiltinCapacityProvider(name) {
		return taskPlacement{launchType: types.LaunchTypeFargate, provider: name}
	}
	return taskPlacement{launchType: types.LaunchTypeEc2, provider: name}
}

func uniqueLaunchTypes(ps []taskPlacement) []types.LaunchType {
	var out []types.LaunchType
	for _, p := range ps {
		if !slices.Contains(out, p.launchType) {
			out = append(out, p.launchType)
		}
	}
	return out
}

// checkLaunchType applies ECS's rules for running a revision on a launch
// type with a network configuration.
func checkLaunchType(td types.TaskDefinition, lt types.LaunchType, nc *types.NetworkConfiguration) error {
	need := types.Compatibility(lt)
	if lt != types.LaunchTypeEc2 && !slices.Contains(td.Compatibilities, need) {
		return ecs.InvalidParameterException("Task definition does not support launch_type %s.", lt)
	}
	if td.NetworkMode != types.NetworkModeAwsvpc {
		if nc != nil && nc.AwsvpcConfiguration != nil {
			return ecs.InvalidParameterException(msgNetworkConfigInvalid)
		}
		return nil
	}
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return ecs.InvalidParameterException(msgNetworkConfigRequired)
	}
	if len(nc.AwsvpcConfiguration.Subnets) == 0 {
		return ecs.InvalidParameterException(msgSubnetsEmpty)
	}
	if nc.AwsvpcConfiguration.AssignPublicIp == types.AssignPublicIpEnabled && lt != types.LaunchTypeFargate {
		return ecs.InvalidParameterException(msgAssignPublicIP)
	}
	return nil
}

// taskTags are the tags a new task gets: the caller's, the revision's when
// propagateTags is TASK_DEFINITION (the caller's win on a shared key), and
// ECS's managed cluster tag when asked.
func (c *Control) taskTags(tx store.ReadTx, who Caller, cluster string, td store.TaskDefinition, propagate types.PropagateTags, managed bool, given []types.Tag) ([]types.Tag, error) {
	tags := slices.Clone(given)
	if propagate == types.PropagateTagsTaskDefinition {
		fromTD, err := tx.Tags(store.TaskDefinitionARN(td.Scope, td.Family, td.Revision))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, ecs.ServerException(err)
		}
		for _, t := range fromTD {
			if !slices.ContainsFunc(tags, func(g types.Tag) bool { return deref(g.Key) == t.Key }) {
				tags = append(tags, types.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
			}
		}
	}
	if managed {
		tags = append(tags, types.Tag{Key: ptr(TagClusterName), Value: ptr(cluster)})
	}
	if len(tags) > ecs.MaxTags {
		return nil, ecs.InvalidParameterException("Tags can have at most %d items.", ecs.MaxTags)
	}
	return tags, nil
}

// StartTaskRequest is StartTask's input in domain terms.
type StartTaskRequest struct {
	Cluster              string
	TaskDefinition       string
	ContainerInstances   []string
	Group                string
	StartedBy            string
	NetworkConfiguration *types.NetworkConfiguration
	Overrides            *types.TaskOverride
	Tags                 []types.Tag
	// EnableExecuteCommand turns on ECS Exec for the tasks, as RunTask's
	// does: their containers carry the ExecuteCommandAgent.
	EnableExecuteCommand bool
}

// StartTask starts one task on each named container instance, as ECS's
// custom schedulers do. An instance that cannot take the task is a
// failure: MISSING (not registered in the cluster), INACTIVE
// (deregistered), AGENT, ATTRIBUTE or RESOURCE:<name>. An INACTIVE
// revision is refused exactly as RunTask refuses it.
func (c *Control) StartTask(ctx context.Context, who Caller, r StartTaskRequest) ([]types.Task, []types.Failure, error) {
	switch {
	case len(r.ContainerInstances) == 0:
		return nil, nil, ecs.InvalidParameterException(msgContainerInstancesNone)
	case len(r.ContainerInstances) > MaxStartTaskInstances:
		return nil, nil, ecs.InvalidParameterException(msgContainerInstancesMany)
	}
	if err := validateTaskStart(r.StartedBy, r.Group, r.Tags); err != nil {
		return nil, nil, err
	}
	now := c.now()
	var out []types.Task
	var failures []types.Failure
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		out, failures = []types.Task{}, []types.Failure{}
		clRec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		tdRec, err := c.usableTaskDefinition(tx, who, r.TaskDefinition, TaskDefinitionUse{
			Inactive: ecs.InvalidParameterException(msgTaskDefinitionInactive),
			NotFound: ecs.ClientException(msgTaskDefinitionNotFound),
		})
		if err != nil {
			return err
		}
		td, err := materialize(tdRec)
		if err != nil {
			return err
		}
		if err := checkLaunchType(td, types.LaunchTypeEc2, r.NetworkConfiguration); err != nil {
			return err
		}
		need := records.TaskRequirements(td, r.Overrides)
		var placed []store.PlacedTask
		for _, ident := range r.ContainerInstances {
			rec, err := findInstance(tx, who, clRec.Name, ident)
			var e *ecs.Error
			if errors.As(err, &e) && e.Code == "InvalidParameterException" {
				failures = append(failures, types.Failure{Arn: ptr(containerInstanceARN(who, clRec.Name, ident)), Reason: ptr(ecs.FailureMissing)})
				continue
			}
			if err != nil {
				return err
			}
			if placed, err = tx.PlacedTasks(who.Scope, clRec.Name, rec.ID); err != nil {
				return ecs.ServerException(err)
			}
			attrs, err := tx.TargetAttributes(who.Scope, clRec.Name, rec.ID)
			if err != nil {
				return ecs.ServerException(err)
			}
			ci, err := records.InstanceView(rec, attrs, placed, now)
			if err != nil {
				return ecs.ServerException(err)
			}
			cand := ecs.InstanceCandidate{Instance: ci, Remaining: ecs.ResourcesFromWire(ci.RemainingResources)}
			if reason := ecs.InstanceRefusal(cand, need); reason != "" {
				failures = append(failures, types.Failure{Arn: ci.ContainerInstanceArn, Reason: ptr(reason)})
				continue
			}
			dynamic, ok := records.DynamicPortsOn(who.Scope, clRec.Name, ci, placed, td, r.Overrides)
			if !ok {
				failures = append(failures, types.Failure{Arn: ci.ContainerInstanceArn, Reason: ptr(ecs.FailureResourcePrefix + ecs.ResourcePorts)})
				continue
			}
			got := cand.Remaining.Take(need.Reservation)
			task, err := ecs.NewTask(ecs.TaskParams{
				Region: who.Region, Account: who.Account, Cluster: clRec.Name,
				TaskDefinition: td, Overrides: r.Overrides,
				StartedBy: r.StartedBy, Group: r.Group, LaunchType: types.LaunchTypeEc2,
				NetworkConfiguration: r.NetworkConfiguration, Tags: slices.Clone(r.Tags), Now: now,
				EnableExecuteCommand: r.EnableExecuteCommand,
			})
			if err != nil {
				return err
			}
			pl := records.Placement{Instance: ci, ID: rec.ID, Reservation: got, ExternalAgent: records.HasExternalAgent(ci.Attributes), Dynamic: dynamic}
			records.ApplyPlacement(&task, td, pl)
			if err := c.insertTask(tx, who, task, &pl, nil); err != nil {
				return err
			}
			out = append(out, task)
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	for _, t := range out {
		c.notify(TopicTask, deref(t.TaskArn))
	}
	return out, failures, nil
}

// containerInstanceARN echoes an ARN, or makes the long-format ARN of a
// container instance ID.
func containerInstanceARN(who Caller, cluster, ident string) string {
	if strings.HasPrefix(ident, "arn:") {
		return ident
	}
	return ecs.ContainerInstanceARN(who.Region, who.Account, cluster, ident)
}

// StopTask asks a task to stop. The reason defaults to ECS's "Task stopped
// by user". Stopping a task already asked to stop, or STOPPED, changes
// nothing and answers it as it is.
func (c *Control) StopTask(ctx context.Context, who Caller, cluster, ident, reason string) (types.Task, error) {
	if reason == "" {
		reason = ecs.ReasonUserStopped
	}
	var out types.Task
	changed := false
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		rec, err := findTask(tx, who, clRec.Name, ident)
		if err != nil {
			return err
		}
		task, err := records.Task(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		next := ecs.RequestStop(task, types.TaskStopCodeUserInitiated, reason, c.now())
		if changed = next.Version != task.Version; changed {
			nrec, err := records.FromTask(who.Scope, next)
			if err != nil {
				return ecs.ServerException(err)
			}
			if err := tx.PutTask(nrec); err != nil {
				return ecs.ServerException(err)
			}
		}
		tags, err := tx.Tags(deref(next.TaskArn))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return ecs.ServerException(err)
		}
		next.Tags = records.Tags(tags)
		out = next
		return nil
	})
	if err != nil {
		return types.Task{}, ecs.AsError(err)
	}
	if changed {
		c.notify(TopicTask, deref(out.TaskArn))
	}
	return out, nil
}

// findTask resolves a task ID or ARN within a cluster. A task ARN naming
// another cluster, account or region is a task ECS cannot find.
func findTask(tx store.ReadTx, who Caller, cluster, ident string) (store.Task, error) {
	ref, ok := ecs.ParseResourceRef("task", ident)
	if !ok {
		return store.Task{}, ecs.InvalidParameterException(msgTaskIdentifierInvalid)
	}
	if ref.IsARN && (!ecs.OwnAccount(ref.Account, who.Account) || ref.Region != who.Region || ref.Cluster != "" && ref.Cluster != cluster) {
		return store.Task{}, ecs.InvalidParameterException(msgTaskNotFound)
	}
	rec, err := tx.Task(who.Scope, cluster, ref.Name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Task{}, ecs.InvalidParameterException(msgTaskNotFound)
	}
	if err != nil {
		return store.Task{}, ecs.ServerException(err)
	}
	return rec, nil
}

// DescribeTasks describes up to 100 tasks of a cluster. Unknown tasks are
// failures with reason MISSING. Tags are filled only when asked for
// (include TAGS); otherwise "tags" is the empty list ECS answers.
func (c *Control) DescribeTasks(ctx context.Context, who Caller, cluster string, idents []string, withTags bool) ([]types.Task, []types.Failure, error) {
	switch {
	case len(idents) == 0:
		return nil, nil, ecs.InvalidParameterException(msgTasksEmpty)
	case len(idents) > MaxDescribeTasks:
		return nil, nil, ecs.InvalidParameterException(msgTasksTooMany)
	}
	tasks := []types.Task{}
	failures := []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := describeCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, ident := range idents {
			rec, err := findTask(tx, who, clRec.Name, ident)
			var e *ecs.Error
			if errors.As(err, &e) && e.Code == "InvalidParameterException" {
				failures = append(failures, types.Failure{Arn: ptr(missingTaskARN(who, clRec.Name, ident)), Reason: ptr("MISSING")})
				continue
			}
			if err != nil {
				return err
			}
			task, err := records.Task(rec)
			if err != nil {
				return ecs.ServerException(err)
			}
			task.Tags = []types.Tag{}
			if withTags {
				tags, err := tx.Tags(deref(task.TaskArn))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return ecs.ServerException(err)
				}
				task.Tags = records.Tags(tags)
			}
			tasks = append(tasks, task)
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	return tasks, failures, nil
}

// missingTaskARN is the ARN a MISSING failure reports: the input when it
// is an ARN, else the task ARN the ID would have in the cluster.
func missingTaskARN(who Caller, cluster, ident string) string {
	if strings.HasPrefix(ident, "arn:") {
		return ident
	}
	return ecs.TaskARN(who.Region, who.Account, cluster, ident)
}

// ListTasksRequest is ListTasks' input in domain terms.
type ListTasksRequest struct {
	Cluster           string
	ContainerInstance string
	Family            string
	ServiceName       string
	StartedBy         string
	DesiredStatus     types.DesiredStatus
	LaunchType        types.LaunchType
	MaxResults        *int32
	NextToken         string
}

// ListTasks lists task ARNs of a cluster, filtered; desiredStatus defaults
// to RUNNING, as ECS documents. containerInstance (ID or ARN) lists the
// tasks placed on that instance; one the cluster does not have lists
// nothing.
func (c *Control) ListTasks(ctx context.Context, who Caller, r ListTasksRequest) ([]string, string, error) {
	limit, err := pageSize(r.MaxResults)
	if err != nil {
		return nil, "", err
	}
	if r.Family != "" && !ecs.ValidFamily(r.Family) {
		return nil, "", ecs.InvalidParameterException(msgFamilyFilter)
	}
	desired := string(r.DesiredStatus)
	if desired == "" {
		desired = store.TaskRunning
	}
	var arns []string
	var next string
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		q := store.TasksQuery{
			Cluster:       clRec.Name,
			Family:        r.Family,
			Service:       r.ServiceName,
			StartedBy:     r.StartedBy,
			LaunchType:    string(r.LaunchType),
			DesiredStatus: desired,
			Limit:         limit + 1,
		}
		query := fmt.Sprintf("tasks|%s|%s|%s|%s|%s|%s|%s", q.Cluster, q.Family, q.Service, q.StartedBy, q.LaunchType, q.DesiredStatus, r.ContainerInstance)
		if r.NextToken != "" {
			if err := decodeToken(r.NextToken, query, &q.After); err != nil {
				return err
			}
		}
		arns = []string{}
		if r.ContainerInstance != "" {
			rec, err := findInstance(tx, who, clRec.Name, r.ContainerInstance)
			var e *ecs.Error
			if errors.As(err, &e) && e.Code == "InvalidParameterException" {
				return nil
			}
			if err != nil {
				return err
			}
			q.ContainerInstance = rec.ID
		}
		recs, err := tx.Tasks(who.Scope, q)
		if err != nil {
			return ecs.ServerException(err)
		}
		if len(recs) > limit {
			recs = recs[:limit]
			next = encodeToken(query, recs[len(recs)-1].ID)
		}
		for _, rec := range recs {
			arns = append(arns, ecs.TaskARN(who.Region, who.Account, rec.Cluster, rec.ID))
		}
		return nil
	})
	if err != nil {
		return nil, "", ecs.AsError(err)
	}
	return arns, next, nil
}
