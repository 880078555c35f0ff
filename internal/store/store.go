// Package store defines the durable state of ecsd behind one interface that
// every backend (sqlitestore today, pgstore next) implements and that the
// storetest conformance suite checks.
//
// Stores keep records, not rules: which status transitions are legal is the
// domain's business, decided in callbacks that run inside the store's
// transaction. A store must never import net/http, the protocol, the api or
// a driver.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports that the addressed record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrNewerSchema reports a data directory written by a newer ecsd.
var ErrNewerSchema = errors.New("store: data written by a newer version of ecsd")

// Scope isolates state: every resource belongs to one account and region,
// as in AWS.
type Scope struct {
	Account string
	Region  string
}

// Task-definition statuses as ECS names them.
const (
	StatusActive           = "ACTIVE"
	StatusInactive         = "INACTIVE"
	StatusDeleteInProgress = "DELETE_IN_PROGRESS"
)

// TaskDefinition is one revision of a task-definition family.
//
// Body is the revision's document in wire form (JSON) WITHOUT the members
// that the lifecycle owns (taskDefinitionArn, revision, status, registeredAt,
// deregisteredAt, deleteRequestedAt): a task definition is immutable once
// registered, so the body never changes and the lifecycle lives in columns.
type TaskDefinition struct {
	Scope
	Family            string
	Revision          int
	Status            string
	RegisteredAt      time.Time
	DeregisteredAt    time.Time // zero while ACTIVE
	DeleteRequestedAt time.Time // zero unless DELETE_IN_PROGRESS
	Body              []byte
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}

// TaskDefinitionKey names one revision.
type TaskDefinitionKey struct {
	Family   string
	Revision int
}

// ListTaskDefinitionsQuery selects revisions for ListTaskDefinitions.
type ListTaskDefinitionsQuery struct {
	// Family, when set, is matched exactly (ECS's familyPrefix is "the full
	// family name").
	Family string
	// Status is one of the task-definition statuses; required.
	Status string
	// Desc reverses the order (family descending, then revision descending).
	Desc bool
	// After, when set, resumes strictly after this key in the chosen order.
	After *TaskDefinitionKey
	// Limit is the page size; a store returns at most Limit keys.
	Limit int
}

// Family-listing statuses (ListTaskDefinitionFamilies).
const (
	FamilyStatusActive   = "ACTIVE"   // at least one ACTIVE revision
	FamilyStatusInactive = "INACTIVE" // revisions exist, none ACTIVE
	FamilyStatusAll      = "ALL"      // either
)

// ListFamiliesQuery selects family names for ListTaskDefinitionFamilies.
// Families whose every revision has been purged are never listed.
type ListFamiliesQuery struct {
	Prefix string // real prefix match
	Status string // FamilyStatus*
	After  string // resume strictly after this family name (ascending)
	Limit  int
}

// UpdateFunc receives the current revision and returns the revision to
// store. It runs inside the store's transaction, so the decision it makes is
// atomic with the write; like every transaction callback it may run more
// than once (see Store). Returning an error aborts this update only; the
// returned TaskDefinition must differ from the input only in Status,
// DeregisteredAt and DeleteRequestedAt.
type UpdateFunc func(current TaskDefinition) (TaskDefinition, error)

// UpdateResult is the outcome of one update in a batch.
type UpdateResult struct {
	TaskDefinition TaskDefinition // the stored revision after the update
	Err            error          // ErrNotFound, or the error UpdateFunc returned
}

// Store is the durable state of ecsd, one contract for every backend
// (sqlitestore: one process, one writer; pgstore: any number of ecsd
// replicas on one PostgreSQL database).
//
// Transactions. Every method takes a context and is exactly one
// transaction. Writes are serializable: each write transaction behaves as
// if it ran alone, after every write acknowledged before it began. A method
// that returns without error has made its write durable (the backend's
// commit has reached stable storage: SQLite's synchronous=FULL,
// PostgreSQL's synchronous_commit=on); a method that returns an error has
// written nothing.
//
// Retries. A backend may run a transaction's callback (Update's fn, View's
// fn, UpdateTaskDefinitions' UpdateFunc) more than once: PostgreSQL aborts
// one of two conflicting serializable transactions (SQLSTATE 40001, or
// 40P01 for a deadlock) and pgstore then runs the whole callback again on a
// fresh transaction; only the run that commits counts. So a callback must
// have no effect outside its transaction: it must not notify, start work,
// or accumulate into variables it does not reset at its start (assigning
// results to captured variables is fine when every run assigns them anew).
// Do those things after the method returns. The storetest case
// "RetriedTransaction" forces a retry in every backend.
//
// Reads that need several statements to agree use View, which reads one
// snapshot; single-record getters on Store are one statement each.
type Store interface {
	// RegisterTaskDefinition stores a new ACTIVE revision of td.Family with
	// the next revision number (last revision ever assigned in the family,
	// deleted ones included, plus one, starting at 1) and its tags. It
	// returns the stored revision. Revisions are gapless and unique under
	// any concurrency and across restarts.
	RegisterTaskDefinition(ctx context.Context, td TaskDefinition, tags []Tag) (TaskDefinition, error)

	// GetTaskDefinition returns one revision, or ErrNotFound (also once
	// purged).
	GetTaskDefinition(ctx context.Context, scope Scope, family string, revision int) (TaskDefinition, error)

	// LatestActiveTaskDefinition returns the highest ACTIVE revision of the
	// family, or ErrNotFound when the family has none.
	LatestActiveTaskDefinition(ctx context.Context, scope Scope, family string) (TaskDefinition, error)

	// UpdateTaskDefinitions applies fn to each named revision, in order, in
	// one transaction, and reports per key. A missing revision yields
	// ErrNotFound for that key without calling fn.
	UpdateTaskDefinitions(ctx context.Context, scope Scope, keys []TaskDefinitionKey, fn UpdateFunc) ([]UpdateResult, error)

	// ListTaskDefinitions returns revision keys in (family, revision) order,
	// ascending or descending, after the cursor, at most q.Limit.
	ListTaskDefinitions(ctx context.Context, scope Scope, q ListTaskDefinitionsQuery) ([]TaskDefinitionKey, error)

	// ListTaskDefinitionFamilies returns family names in ascending order.
	ListTaskDefinitionFamilies(ctx context.Context, scope Scope, q ListFamiliesQuery) ([]string, error)

	// TaskDefinitionsToPurge returns DELETE_IN_PROGRESS revisions, in any
	// scope, whose DeleteRequestedAt is at or before requestedBefore, at
	// most limit.
	TaskDefinitionsToPurge(ctx context.Context, requestedBefore time.Time, limit int) ([]TaskDefinition, error)

	// PurgeTaskDefinition permanently removes a DELETE_IN_PROGRESS revision
	// and its tags. The family's revision counter is kept so the number is
	// never reused. Purging anything not DELETE_IN_PROGRESS, or a missing
	// revision, returns ErrNotFound and changes nothing.
	PurgeTaskDefinition(ctx context.Context, scope Scope, family string, revision int) error

	// ListTags returns the tags of a resource, ordered by key, or
	// ErrNotFound when the resource does not exist.
	ListTags(ctx context.Context, r Resource) ([]Tag, error)

	// TagResource adds or overwrites tags on r in one transaction. It
	// returns ErrNotFound when the resource does not exist and
	// ErrTooManyTags, changing nothing, when r would hold more than max.
	TagResource(ctx context.Context, r Resource, tags []Tag, max int) error

	// UntagResource removes the keys from r (missing keys are ignored), or
	// returns ErrNotFound when the resource does not exist.
	UntagResource(ctx context.Context, r Resource, keys []string) error

	// Update runs fn in one serializable write transaction: what fn writes
	// commits together, durably, before Update returns nil; when fn returns
	// an error nothing it wrote is kept and Update returns that error as
	// is. fn may run more than once (see Retries above). It must be quick
	// and must not block on I/O or on other store calls: on SQLite it runs
	// on the store's single writer, on PostgreSQL it holds row locks that
	// other replicas wait on.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// View runs fn on one read-only snapshot, taken at fn's first read. fn
	// may run more than once.
	View(ctx context.Context, fn func(tx ReadTx) error) error

	// Reset removes all state (test suites' reset endpoint).
	Reset(ctx context.Context) error

	// Ping reports whether the store is open and serving.
	Ping(ctx context.Context) error

	Close() error
}

// Resource addresses a taggable resource. The store checks, inside the
// tagging transaction, that the typed target exists, so tags never outlive
// or precede their resource.
type Resource struct {
	Scope
	ARN string
	// Exactly one of the following names the target.
	// TaskDefinition is set for a task-definition revision ARN.
	TaskDefinition *TaskDefinitionKey
	// Cluster is set, alone, for a cluster ARN; with Service for a service
	// ARN; with Task (the task ID) for a task ARN.
	Cluster string
	Service string
	Task    string
	// ContainerInstance is set, with Cluster, for a container instance
	// ARN (its ID).
	ContainerInstance string
}

// ErrTooManyTags reports that a TagResource would exceed the tag limit.
var ErrTooManyTags = errors.New("store: too many tags")
