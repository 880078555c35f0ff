package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Orchestration state (clusters, services, tasks, service deployments and
// revisions, account settings, attributes) is read and written through
// transactions: the use-cases and the loops need several reads and writes
// to be atomic together (RunTask checks its task definition and cluster and
// inserts tasks; DeleteCluster counts services and tasks and then marks the
// cluster; a scheduler pass reads a service and its tasks and writes both).
//
// Records keep their ECS document as wire JSON in Body and copy into columns
// only what is filtered or sorted on; the store never parses Body.

// Cluster statuses.
const (
	ClusterActive   = "ACTIVE"
	ClusterInactive = "INACTIVE"
)

// Service statuses.
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Task statuses (desired and last). Only these are stored in columns; the
// intermediate ECS states (ACTIVATING, DEACTIVATING, ...) are stored as is
// in LastStatus too.
const (
	TaskStopped = "STOPPED"
	TaskRunning = "RUNNING"
	TaskPending = "PENDING"
)

// Cluster is one ECS cluster.
type Cluster struct {
	Scope
	Name   string
	Status string
	Body   []byte // types.Cluster as wire JSON, without live counts
}

// Service is one ECS service, keyed by cluster and name. A name is reused
// once the service is INACTIVE: putting a new service under it replaces
// the INACTIVE record.
type Service struct {
	Scope
	Cluster            string
	Name               string
	Status             string
	LaunchType         string
	SchedulingStrategy string
	// TaskDefinition is the primary deployment's revision.
	TaskDefinition TaskDefinitionKey
	// TaskDefinitions are the other revisions the service still refers to
	// (older deployments being drained or kept to roll back to, task sets).
	// With TaskDefinition they are in use while the service is not
	// INACTIVE: ECS keeps a DELETE_IN_PROGRESS revision while "service
	// deployments and task sets" reference it. It is an index derived from
	// Body: stores write it and getters leave it nil.
	TaskDefinitions []TaskDefinitionKey
	// RolloutState is the PRIMARY deployment's rolloutState ("" when the
	// service has none: EXTERNAL and CODE_DEPLOY controllers), counted by
	// the metrics. Like TaskDefinitions it is derived from Body: stores
	// write it and getters leave it empty.
	RolloutState string
	CreatedAt    time.Time
	Body         []byte // types.Service as wire JSON
}

// Container instance statuses a record holds (the ECS names).
const (
	InstanceActive   = "ACTIVE"
	InstanceDraining = "DRAINING"
	InstanceInactive = "INACTIVE"
)

// Where a container instance came from (ContainerInstance.Source).
const (
	// InstanceSourceAPI: RegisterContainerInstance, as the ECS agent calls
	// it.
	InstanceSourceAPI = "api"
	// InstanceSourceSimulated: ecsd's simulated instances (--sim-instances
	// or the cluster tag).
	InstanceSourceSimulated = "simulated"
	// InstanceSourceDockerHost: the Docker host ecsd runs tasks on,
	// registered by ecsd itself.
	InstanceSourceDockerHost = "docker-host"
	// InstanceSourceKubeNode: a node of the kubernetes runtime's
	// cluster, registered by ecsd itself.
	InstanceSourceKubeNode = "kube-node"
)

// ContainerInstance is one container instance, keyed by cluster and ID.
// Its attributes live in the attributes table (target ID = ID) and its
// tags under its ARN; what the tasks on it use is derived from the tasks
// (Reservation), never stored with it, so nothing can be booked twice.
type ContainerInstance struct {
	Scope
	Cluster          string
	ID               string
	EC2InstanceID    string // "" when unknown
	Status           string
	CapacityProvider string // "" for none
	Source           string // InstanceSource*
	RegisteredAt     time.Time
	// AgentUpdateRequestedAt is when UpdateContainerAgent was last
	// accepted (zero: never); the update's progress derives from it.
	AgentUpdateRequestedAt time.Time
	// Body is types.ContainerInstance as wire JSON, without attributes,
	// tags, task counts and remaining resources, which are derived.
	Body []byte
}

// ContainerInstancesQuery selects a cluster's container instances in ID
// order.
type ContainerInstancesQuery struct {
	Cluster          string   // required
	Statuses         []string // empty for any
	EC2InstanceID    string   // "" for any
	CapacityProvider string   // "" for any
	After            string   // resume strictly after this ID
	Limit            int      // 0 for no limit
}

// Reservation is what a task holds on its container instance while it is
// not STOPPED: CPU units, MiB of memory, host ports and GPU IDs.
type Reservation struct {
	CPU, Memory int
	// Ports and PortsUDP are the static host ports: the ones the instance's
	// remainingResources list.
	Ports, PortsUDP []int
	GPUIDs          []string
	// Dynamic are the host ports chosen from the instance's ephemeral range
	// for bridge-mode port mappings without a hostPort. ECS does not list
	// them in remainingResources, but no other task may have them while
	// this one holds them.
	Dynamic []DynamicPort
}

// DynamicPort is a run of host ports chosen for one port mapping: Count
// ports from HostPort (1 for a containerPort, the range's length for a
// containerPortRange whose first port is ContainerPort).
type DynamicPort struct {
	Container     string
	ContainerPort int
	HostPort      int
	Count         int
	UDP           bool
}

// FormatDynamicPorts encodes dynamic ports as the stores keep them in one
// column: "container:containerPort:hostPort:count:tcp|udp", comma-separated
// (container names are letters, digits, hyphens and underscores).
func FormatDynamicPorts(ds []DynamicPort) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(',')
		}
		proto := "tcp"
		if d.UDP {
			proto = "udp"
		}
		fmt.Fprintf(&b, "%s:%d:%d:%d:%s", d.Container, d.ContainerPort, d.HostPort, d.Count, proto)
	}
	return b.String()
}

// ParseDynamicPorts decodes FormatDynamicPorts; malformed entries are
// skipped.
func ParseDynamicPorts(s string) []DynamicPort {
	if s == "" {
		return nil
	}
	var out []DynamicPort
	for _, e := range strings.Split(s, ",") {
		f := strings.Split(e, ":")
		if len(f) != 5 {
			continue
		}
		cp, err1 := strconv.Atoi(f[1])
		hp, err2 := strconv.Atoi(f[2])
		n, err3 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, DynamicPort{Container: f[0], ContainerPort: cp, HostPort: hp, Count: n, UDP: f[4] == "udp"})
	}
	return out
}

// PlacedTask is a task that holds resources on a container instance.
type PlacedTask struct {
	ContainerInstance string
	ID                string
	Group             string
	LastStatus        string
	Reservation       Reservation
}

// Task is one ECS task, keyed by cluster and task ID.
type Task struct {
	Scope
	Cluster        string
	ID             string
	TaskDefinition TaskDefinitionKey
	// Service is the service name when a service started the task.
	Service       string
	StartedBy     string
	LaunchType    string
	DesiredStatus string
	LastStatus    string
	CreatedAt     time.Time
	StoppedAt     time.Time // zero until LastStatus is STOPPED
	// Group is the task's group (types.Task.Group), which the cluster
	// query language's task:group reads.
	Group string
	// ContainerInstance, Reservation and ExternalAgent are the task's
	// placement. They are fixed when the task is first put with a
	// container instance (a task waiting in PROVISIONING for capacity is
	// put first without one): a task never moves, so later puts keep them
	// whatever they carry.
	// ContainerInstance is the ID of the instance the task was placed on
	// ("" for none: Fargate tasks).
	ContainerInstance string
	Reservation       Reservation
	// ExternalAgent says an agent outside ecsd runs the task and reports
	// its state (SubmitTaskStateChange); ecsd's runtime leaves it alone.
	ExternalAgent bool
	// ProtectedUntil is when the task's scale-in protection expires (zero:
	// not protected). PutTask writes it only when it inserts the task;
	// SetTaskProtection changes it.
	ProtectedUntil time.Time
	// RequestedPlacement is what a RunTask request asked of placement
	// (its placementStrategy and placementConstraints, opaque to the store)
	// for a task that waits in PROVISIONING for capacity, so it is placed
	// as asked once capacity arrives. Set when the task is inserted; later
	// puts keep it.
	RequestedPlacement []byte
	Body               []byte // types.Task as wire JSON
}

// ServiceDeployment is one record of ListServiceDeployments /
// DescribeServiceDeployments.
type ServiceDeployment struct {
	Scope
	ARN       string
	Cluster   string
	Service   string // service name
	Status    string
	CreatedAt time.Time
	Body      []byte // types.ServiceDeployment as wire JSON
}

// ServiceRevision is one record of DescribeServiceRevisions.
type ServiceRevision struct {
	Scope
	ARN     string
	Cluster string
	Service string
	Body    []byte // types.ServiceRevision as wire JSON
}

// Setting is one account setting. Principal "" is the account default
// (PutAccountSettingDefault); otherwise the principal ARN it applies to.
type Setting struct {
	Scope
	Principal string
	Name      string
	Value     string
}

// Attribute is one custom attribute on a target in a cluster.
type Attribute struct {
	Scope
	Cluster    string
	TargetType string
	TargetID   string
	Name       string
	Value      string // "" when the attribute has no value
}

// Capacity provider statuses (ECS's CapacityProviderStatus).
const (
	CapacityProviderActive   = "ACTIVE"
	CapacityProviderInactive = "INACTIVE"
)

// CapacityProvider is one Auto Scaling group capacity provider, keyed by
// name (FARGATE and FARGATE_SPOT are built in and never stored). An
// INACTIVE record keeps its name until CreateCapacityProvider reuses it.
type CapacityProvider struct {
	Scope
	Name   string
	Status string
	// AutoScalingGroupARN is unique among ACTIVE providers: ECS refuses a
	// second provider for the same group.
	AutoScalingGroupARN string
	// DeleteRequestedAt is when DeleteCapacityProvider was accepted (zero:
	// never).
	DeleteRequestedAt time.Time
	// Body is types.CapacityProvider as wire JSON, without tags; Group is
	// ecsd's simulated Auto Scaling group (its own JSON). The store parses
	// neither.
	Body, Group []byte
}

// ClustersQuery selects clusters in name order.
type ClustersQuery struct {
	Status string // "" for any
	After  string // resume strictly after this name
	Limit  int    // 0 for no limit
}

// ServicesQuery selects services of one cluster in name order.
type ServicesQuery struct {
	Cluster            string   // required
	Statuses           []string // empty for any
	LaunchType         string
	SchedulingStrategy string
	After              string
	Limit              int
}

// TasksQuery selects tasks in ID order. Empty fields do not filter.
type TasksQuery struct {
	Cluster        string // "" for every cluster of the scope
	Family         string
	Service        string
	StartedBy      string
	LaunchType     string
	DesiredStatus  string
	NotLastStatus  string // excludes tasks whose LastStatus equals it
	TaskDefinition *TaskDefinitionKey
	// ContainerInstance, when set, selects the tasks placed on that
	// instance (its ID); Cluster must be set with it.
	ContainerInstance string
	After             string // task ID
	Limit             int
}

// ServiceDeploymentsQuery selects one service's deployments, newest first.
type ServiceDeploymentsQuery struct {
	Cluster       string
	Service       string
	Statuses      []string // empty for any
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int
}

// ClusterCounts are the live counts DescribeClusters reports.
type ClusterCounts struct {
	RunningTasks   int // tasks with LastStatus RUNNING
	PendingTasks   int // tasks with LastStatus neither RUNNING nor STOPPED
	ActiveServices int // services ACTIVE or DRAINING
	// RegisteredInstances counts container instances ACTIVE or DRAINING.
	RegisteredInstances int
}

// ReadTx reads one consistent snapshot. Every getter returns ErrNotFound
// (wrapped) for a missing record. Returned records are copies: changing
// them changes nothing stored.
type ReadTx interface {
	TaskDefinition(scope Scope, family string, revision int) (TaskDefinition, error)
	LatestActiveTaskDefinition(scope Scope, family string) (TaskDefinition, error)
	// TaskDefinitionInUse reports whether a task not yet STOPPED or a
	// service not INACTIVE uses the revision.
	TaskDefinitionInUse(scope Scope, family string, revision int) (bool, error)

	Cluster(scope Scope, name string) (Cluster, error)
	Clusters(scope Scope, q ClustersQuery) ([]Cluster, error)
	// AllClusters returns clusters with the status (any when ""), in every
	// scope, ordered by (account, region, name) after the cursor.
	AllClusters(status string, after *Cluster, limit int) ([]Cluster, error)
	ClusterCounts(scope Scope, cluster string) (ClusterCounts, error)

	Service(scope Scope, cluster, name string) (Service, error)
	Services(scope Scope, q ServicesQuery) ([]Service, error)
	// ServicesToSchedule returns services that are not INACTIVE, in any
	// scope, ordered by (account, region, cluster, name) after the cursor.
	ServicesToSchedule(after *Service, limit int) ([]Service, error)

	Task(scope Scope, cluster, id string) (Task, error)
	Tasks(scope Scope, q TasksQuery) ([]Task, error)
	// TasksToSupervise returns tasks, in any scope, whose LastStatus is not
	// STOPPED, ordered by ID after the cursor.
	TasksToSupervise(afterID string, limit int) ([]Task, error)
	// StoppedTasksBefore returns STOPPED tasks, in any scope, stopped at or
	// before t, oldest first.
	StoppedTasksBefore(t time.Time, limit int) ([]Task, error)

	ServiceDeployment(scope Scope, arn string) (ServiceDeployment, error)
	ServiceDeployments(scope Scope, q ServiceDeploymentsQuery) ([]ServiceDeployment, error)
	ServiceRevision(scope Scope, arn string) (ServiceRevision, error)

	// Settings returns the settings of a principal ("" for the account
	// defaults), ordered by name.
	Settings(scope Scope, principal string) ([]Setting, error)
	// Attributes returns a cluster's attributes ordered by (target, name);
	// empty targetType or name do not filter.
	Attributes(scope Scope, cluster, targetType, name string) ([]Attribute, error)
	// TargetAttributes returns one target's attributes ordered by name.
	TargetAttributes(scope Scope, cluster, targetID string) ([]Attribute, error)

	// Tags returns the tags stored under an ARN, ordered by key.
	Tags(arn string) ([]Tag, error)

	ContainerInstance(scope Scope, cluster, id string) (ContainerInstance, error)
	ContainerInstances(scope Scope, q ContainerInstancesQuery) ([]ContainerInstance, error)
	// PlacedTasks returns the tasks that are not STOPPED on a container
	// instance of the cluster (id), or on any of its instances (id ""),
	// ordered by (instance, task ID): what the instances' remaining
	// resources and task counts derive from.
	PlacedTasks(scope Scope, cluster, id string) ([]PlacedTask, error)

	CapacityProvider(scope Scope, name string) (CapacityProvider, error)
	// CapacityProviders returns the scope's stored capacity providers with
	// the status (any when ""), in name order.
	CapacityProviders(scope Scope, status string) ([]CapacityProvider, error)
	// AllCapacityProviders returns ACTIVE capacity providers in every
	// scope, ordered by (account, region, name): the managed scaling
	// loop's work.
	AllCapacityProviders() ([]CapacityProvider, error)
}

// Tx is a write transaction. Put* inserts or replaces by key.
type Tx interface {
	ReadTx
	// PurgeTaskDefinition is Store.PurgeTaskDefinition inside the
	// transaction, so the deletion sweeper's in-use check and the purge are
	// atomic.
	PurgeTaskDefinition(scope Scope, family string, revision int) error
	PutCluster(c Cluster) error
	PutService(s Service) error
	PutTask(t Task) error
	// SetTaskProtection sets when a task's scale-in protection expires
	// (zero clears it); a missing task is ErrNotFound.
	SetTaskProtection(scope Scope, cluster, id string, until time.Time) error
	// DeleteTask removes a task and its tags.
	DeleteTask(scope Scope, cluster, id string) error
	PutServiceDeployment(d ServiceDeployment) error
	PutServiceRevision(r ServiceRevision) error
	PutSetting(s Setting) error
	// DeleteSetting removes a setting; a missing one is ErrNotFound.
	DeleteSetting(scope Scope, principal, name string) error
	PutAttribute(a Attribute) error
	// DeleteAttribute removes an attribute; a missing one is ErrNotFound.
	DeleteAttribute(scope Scope, cluster, targetID, name string) error
	// PutTags adds or overwrites tags under an ARN.
	PutTags(scope Scope, arn string, tags []Tag) error
	// DeleteTags removes every tag under an ARN.
	DeleteTags(arn string) error
	PutContainerInstance(ci ContainerInstance) error
	PutCapacityProvider(cp CapacityProvider) error
}

// TaskCount is how many tasks, in every scope, have one last status and
// launch type.
type TaskCount struct {
	LastStatus string
	LaunchType string
	Count      int
}

// ServiceCount is how many services, in every scope, have one status and
// one rollout state of their PRIMARY deployment.
type ServiceCount struct {
	Status       string
	RolloutState string
	Count        int
}

// Counter is implemented by stores that count their records from indexes,
// cheaply enough to answer every metrics scrape: the cost grows with the
// number of distinct (status, launch type) pairs, never with a pass over
// every task's document.
type Counter interface {
	// TaskCounts counts every task (STOPPED ones still kept included) by
	// launch type and last status, in that order.
	TaskCounts(ctx context.Context) ([]TaskCount, error)
	// ServiceCounts counts the services that are not INACTIVE by status
	// and rollout state, ordered by both.
	ServiceCounts(ctx context.Context) ([]ServiceCount, error)
}
