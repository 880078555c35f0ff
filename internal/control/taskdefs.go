// Package control holds ecsd's use-cases: each validates with the domain
// rules, runs one store transaction and answers in the model's types. It
// must never import net/http, the protocol server or a driver.
package control

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/wire"
)

// Control is the set of use-cases over one store.
type Control struct {
	Store   store.Store
	NowFunc func() time.Time
	Logger  *slog.Logger
	// InactiveGrace is how long after deregistration an INACTIVE or
	// DELETE_IN_PROGRESS revision may still start tasks and be used by
	// CreateService/UpdateService. AWS admits "up to a 10-minute window";
	// 0 enforces the rule at once.
	InactiveGrace time.Duration
	// Notifier, when set, is told which resource a use-case changed, once
	// its transaction has committed, so the loops (in this replica or
	// another) act at once instead of on their next resync.
	Notifier Notifier
	// CreateDefaultCluster makes RunTask and CreateService without a
	// cluster create the "default" cluster when it is missing, as the ECS
	// console and agent do for a new account. Off, ecsd answers as the API
	// does: ClusterNotFoundException.
	CreateDefaultCluster bool
	// RandFunc, when set, returns a random number in [0, n): it drives the
	// random placement strategy and breaks the ties other strategies
	// leave. nil places on the first instance in ARN order (tests).
	RandFunc func(n int) int
	// Instances are the container instances ecsd registers in clusters by
	// itself (managed.go).
	Instances ManagedInstances
	// PollEndpoint is what DiscoverPollEndpoint answers: ecsd's own URL.
	PollEndpoint string

	// OpenExecFunc opens an ExecuteCommand session on a running
	// container (the runtime's ECS Exec); nil on a runtime that runs no
	// processes. Its errors (the container is gone, the runtime failed)
	// answer as ECS answers an agent that cannot take the session.
	OpenExecFunc func(ctx context.Context, t ExecTarget) (ExecSession, error)

	described describeCache // DescribeTaskDefinition's decoded revisions
}

// New returns a Control over st using the wall clock.
func New(st store.Store, logger *slog.Logger) *Control {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Control{Store: st, NowFunc: time.Now, Logger: logger}
}

func (c *Control) now() time.Time { return c.NowFunc().UTC().Truncate(time.Millisecond) }

// Caller identifies who asks, and in which account and region.
type Caller struct {
	store.Scope
	// ARN is recorded in registeredBy.
	ARN string
}

// NewCaller names a caller: the principal ARN within an account and region.
func NewCaller(account, region, arn string) Caller {
	return Caller{Scope: store.Scope{Account: account, Region: region}, ARN: arn}
}

// RegisterTaskDefinition validates def as ECS does and stores it as the
// family's next revision.
func (c *Control) RegisterTaskDefinition(ctx context.Context, who Caller, def types.TaskDefinition, tags []types.Tag) (types.TaskDefinition, error) {
	if err := ecs.ValidateTags(tags); err != nil {
		return types.TaskDefinition{}, err
	}
	// ECS measures the definition as sent.
	raw, err := wire.Marshal(def)
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	if len(raw) > ecs.MaxTaskDefinitionBytes {
		return types.TaskDefinition{}, ecs.ClientException("Actual length: '%d'. Max allowed length is '%d' bytes.", len(raw), ecs.MaxTaskDefinitionBytes)
	}
	td, err := ecs.PrepareTaskDefinition(def)
	if err != nil {
		return types.TaskDefinition{}, err
	}
	td.RegisteredBy = &who.ARN
	body, err := encodeBody(td)
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	rec, err := c.Store.RegisterTaskDefinition(ctx, store.TaskDefinition{
		Scope:        who.Scope,
		Family:       *td.Family,
		Status:       store.StatusActive,
		RegisteredAt: c.now(),
		Body:         body,
	}, records.FromTags(tags))
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	return materialize(rec)
}

// DescribeTaskDefinition resolves a family (latest ACTIVE revision),
// family:revision or ARN, and returns the revision and, when asked, its tags.
func (c *Control) DescribeTaskDefinition(ctx context.Context, who Caller, ident string, withTags bool) (types.TaskDefinition, []types.Tag, error) {
	rec, err := c.resolve(ctx, who, ident)
	if err != nil {
		return types.TaskDefinition{}, nil, err
	}
	// The answer goes straight to the encoder, so it may share the cache's
	// copy.
	td, err := c.described.materialize(rec)
	if err != nil {
		return types.TaskDefinition{}, nil, err
	}
	if !withTags {
		return td, nil, nil
	}
	tags, err := c.Store.ListTags(ctx, tdResource(rec))
	if errors.Is(err, store.ErrNotFound) {
		return types.TaskDefinition{}, nil, ecs.ClientException(ecs.MsgUnableToDescribe)
	}
	if err != nil {
		return types.TaskDefinition{}, nil, ecs.ServerException(err)
	}
	return td, records.Tags(tags), nil
}

// resolve finds the revision an identifier names, answering ECS's
// describe error for anything that does not name an existing revision.
func (c *Control) resolve(ctx context.Context, who Caller, ident string) (store.TaskDefinition, error) {
	ref, err := ecs.ParseTaskDefinitionRef(ident)
	var revErr *ecs.RevisionError
	if errors.As(err, &revErr) {
		return store.TaskDefinition{}, ecs.ClientException("%s", revErr.Error())
	}
	if !ecs.ValidFamily(ref.Family) || !inScope(ref, who.Scope) {
		return store.TaskDefinition{}, ecs.ClientException(ecs.MsgUnableToDescribe)
	}
	var rec store.TaskDefinition
	if ref.HasRevision {
		rec, err = c.Store.GetTaskDefinition(ctx, who.Scope, ref.Family, ref.Revision)
	} else {
		rec, err = c.Store.LatestActiveTaskDefinition(ctx, who.Scope, ref.Family)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.TaskDefinition{}, ecs.ClientException(ecs.MsgUnableToDescribe)
	}
	if err != nil {
		return store.TaskDefinition{}, ecs.ServerException(err)
	}
	return rec, nil
}

// inScope reports whether an ARN identifier names the caller's own account
// and region; ECS never finds another account's task definitions.
func inScope(ref ecs.TaskDefinitionRef, scope store.Scope) bool {
	return !ref.IsARN || (ecs.OwnAccount(ref.Account, scope.Account) && ref.Region == scope.Region)
}

// DeregisterTaskDefinition marks a revision INACTIVE. Deregistering an
// INACTIVE revision again succeeds and changes nothing.
func (c *Control) DeregisterTaskDefinition(ctx context.Context, who Caller, ident string) (types.TaskDefinition, error) {
	ref, err := ecs.ParseTaskDefinitionRef(ident)
	var revErr *ecs.RevisionError
	switch {
	case errors.As(err, &revErr):
		return types.TaskDefinition{}, ecs.ClientException("%s", revErr.Error())
	case !ref.HasRevision:
		return types.TaskDefinition{}, ecs.ClientException(ecs.MsgRevisionMissing)
	case !ecs.ValidFamily(ref.Family) || !inScope(ref, who.Scope):
		return types.TaskDefinition{}, ecs.ClientException(ecs.MsgTaskDefDoesNotExist)
	}
	now := c.now()
	var before store.TaskDefinition
	res, err := c.Store.UpdateTaskDefinitions(ctx, who.Scope,
		[]store.TaskDefinitionKey{{Family: ref.Family, Revision: ref.Revision}},
		func(cur store.TaskDefinition) (store.TaskDefinition, error) {
			before = cur
			switch cur.Status {
			case store.StatusActive:
				cur.Status, cur.DeregisteredAt = store.StatusInactive, now
			case store.StatusDeleteInProgress:
				return cur, ecs.ClientException(ecs.MsgTaskDefBeingDeleted)
			}
			return cur, nil
		})
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	if err := res[0].Err; err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return types.TaskDefinition{}, ecs.ClientException(ecs.MsgTaskDefDoesNotExist)
		}
		return types.TaskDefinition{}, err
	}
	td, err := materialize(res[0].TaskDefinition)
	if err != nil {
		return types.TaskDefinition{}, err
	}
	// ECS's DeregisterTaskDefinition response carries the new status but
	// not deregisteredAt when the call made the change (recorded in 2023;
	// DescribeTaskDefinition shows it afterwards).
	if before.Status == store.StatusActive {
		td.DeregisteredAt = nil
	}
	return td, nil
}

// DeleteTaskDefinitions requests deletion of INACTIVE revisions. Each moves
// to DELETE_IN_PROGRESS at once and is purged by the deletion sweeper when
// nothing uses it any more. Per-revision problems are failures, not errors.
func (c *Control) DeleteTaskDefinitions(ctx context.Context, who Caller, idents []string) ([]types.TaskDefinition, []types.Failure, error) {
	switch {
	case len(idents) == 0:
		return nil, nil, ecs.InvalidParameterException(ecs.MsgDeleteListEmpty)
	case len(idents) > 10:
		return nil, nil, ecs.InvalidParameterException(ecs.MsgDeleteListTooLong)
	}
	// Each identifier either fails before the store is asked (reason set)
	// or names the key the store reports on (key >= 0); the answers are
	// assembled afterwards so that failures keep the order of the input.
	type item struct {
		reason string
		key    int
	}
	items := make([]item, len(idents))
	var keys []store.TaskDefinitionKey
	for i, ident := range idents {
		ref, err := ecs.ParseTaskDefinitionRef(ident)
		switch {
		case err != nil || !ref.HasRevision || !ecs.ValidFamily(ref.Family):
			items[i] = item{reason: ecs.MsgDeleteInvalidIdent, key: -1}
		case !inScope(ref, who.Scope):
			items[i] = item{reason: ecs.MsgDeleteDoesNotExist, key: -1}
		default:
			items[i] = item{key: len(keys)}
			keys = append(keys, store.TaskDefinitionKey{Family: ref.Family, Revision: ref.Revision})
		}
	}
	var res []store.UpdateResult
	errStillActive := errors.New(ecs.MsgDeleteStillActive)
	if len(keys) > 0 {
		now := c.now()
		var err error
		res, err = c.Store.UpdateTaskDefinitions(ctx, who.Scope, keys, func(cur store.TaskDefinition) (store.TaskDefinition, error) {
			switch cur.Status {
			case store.StatusActive:
				return cur, errStillActive
			case store.StatusInactive:
				cur.Status, cur.DeleteRequestedAt = store.StatusDeleteInProgress, now
			}
			return cur, nil
		})
		if err != nil {
			return nil, nil, ecs.ServerException(err)
		}
	}
	deleted := []types.TaskDefinition{}
	failures := []types.Failure{}
	for i, it := range items {
		reason := it.reason
		if it.key >= 0 {
			r := res[it.key]
			switch {
			case errors.Is(r.Err, store.ErrNotFound):
				reason = ecs.MsgDeleteDoesNotExist
			case errors.Is(r.Err, errStillActive):
				reason = ecs.MsgDeleteStillActive
			case r.Err != nil:
				return nil, nil, ecs.ServerException(r.Err)
			default:
				td, err := materialize(r.TaskDefinition)
				if err != nil {
					return nil, nil, err
				}
				deleted = append(deleted, td)
				continue
			}
		}
		failures = append(failures, types.Failure{Arn: ptr(idents[i]), Reason: ptr(reason)})
	}
	return deleted, failures, nil
}

// ListTaskDefinitionsRequest is ListTaskDefinitions' input in domain terms.
type ListTaskDefinitionsRequest struct {
	FamilyPrefix string
	Status       types.TaskDefinitionStatus
	Sort         types.SortOrder
	MaxResults   *int32
	NextToken    string
}

// ListTaskDefinitions lists revision ARNs. familyPrefix is, as ECS
// documents, the full family name.
func (c *Control) ListTaskDefinitions(ctx context.Context, who Caller, r ListTaskDefinitionsRequest) ([]string, string, error) {
	limit, err := pageSize(r.MaxResults)
	if err != nil {
		return nil, "", err
	}
	status := string(r.Status)
	if status == "" {
		status = store.StatusActive
	}
	q := store.ListTaskDefinitionsQuery{
		Family: r.FamilyPrefix,
		Status: status,
		Desc:   r.Sort == types.SortOrderDesc,
		Limit:  limit + 1,
	}
	if r.FamilyPrefix != "" && !ecs.ValidFamily(r.FamilyPrefix) {
		return []string{}, "", nil // no family can match
	}
	// The token binds the query it came from so a token is never replayed
	// against a different listing.
	query := fmt.Sprintf("td|%s|%s|%t", q.Family, q.Status, q.Desc)
	if r.NextToken != "" {
		var after store.TaskDefinitionKey
		if err := decodeToken(r.NextToken, query, &after); err != nil {
			return nil, "", err
		}
		q.After = &after
	}
	keys, err := c.Store.ListTaskDefinitions(ctx, who.Scope, q)
	if err != nil {
		return nil, "", ecs.ServerException(err)
	}
	var next string
	if len(keys) > limit {
		keys = keys[:limit]
		next = encodeToken(query, keys[len(keys)-1])
	}
	arns := make([]string, len(keys))
	for i, k := range keys {
		arns[i] = ecs.TaskDefinitionARN(who.Region, who.Account, k.Family, k.Revision)
	}
	return arns, next, nil
}

// ListTaskDefinitionFamilies lists family names. By default both ACTIVE and
// INACTIVE families are listed, as ECS documents.
func (c *Control) ListTaskDefinitionFamilies(ctx context.Context, who Caller, prefix string, status types.TaskDefinitionFamilyStatus, maxResults *int32, nextToken string) ([]string, string, error) {
	limit, err := pageSize(maxResults)
	if err != nil {
		return nil, "", err
	}
	st := string(status)
	if st == "" {
		st = store.FamilyStatusAll
	}
	q := store.ListFamiliesQuery{Prefix: prefix, Status: st, Limit: limit + 1}
	query := fmt.Sprintf("fam|%s|%s", prefix, st)
	if nextToken != "" {
		if err := decodeToken(nextToken, query, &q.After); err != nil {
			return nil, "", err
		}
	}
	fams, err := c.Store.ListTaskDefinitionFamilies(ctx, who.Scope, q)
	if err != nil {
		return nil, "", ecs.ServerException(err)
	}
	if fams == nil {
		fams = []string{} // ECS answers "families": [], never omits it
	}
	var next string
	if len(fams) > limit {
		fams = fams[:limit]
		next = encodeToken(query, fams[len(fams)-1])
	}
	return fams, next, nil
}

func pageSize(maxResults *int32) (int, error) {
	if maxResults == nil {
		return 100, nil
	}
	if *maxResults < 1 || *maxResults > 100 {
		return 0, ecs.InvalidParameterException("maxResults must be between 1 and 100.")
	}
	return int(*maxResults), nil
}

type pageToken struct {
	Query string          `json:"q"`
	After json.RawMessage `json:"a"`
}

func encodeToken(query string, after any) string {
	a, _ := json.Marshal(after)
	b, _ := json.Marshal(pageToken{Query: query, After: a})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok, query string, after any) error {
	invalid := ecs.InvalidParameterException("Invalid nextToken: the token is malformed or was issued for a different request.")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return invalid
	}
	var pt pageToken
	if err := json.Unmarshal(raw, &pt); err != nil || pt.Query != query {
		return invalid
	}
	if err := json.Unmarshal(pt.After, after); err != nil {
		return invalid
	}
	return nil
}

// encodeBody stores the immutable part of a revision.
func encodeBody(td types.TaskDefinition) ([]byte, error) { return records.TaskDefinitionBody(td) }

// materialize rebuilds the revision a client sees from a stored record.
func materialize(rec store.TaskDefinition) (types.TaskDefinition, error) {
	td, err := records.TaskDefinition(rec)
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	return td, nil
}

func tdResource(rec store.TaskDefinition) store.Resource {
	return store.Resource{
		Scope:          rec.Scope,
		ARN:            ecs.TaskDefinitionARN(rec.Region, rec.Account, rec.Family, rec.Revision),
		TaskDefinition: &store.TaskDefinitionKey{Family: rec.Family, Revision: rec.Revision},
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
