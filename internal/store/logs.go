package store

import (
	"context"
	"errors"
	"time"
)

// The CloudWatch Logs store: log groups, their streams and the events
// containers of awslogs tasks (and PutLogEvents callers) write. It is a
// store of its own, apart from Store, because its shape is not ECS's: it is
// append-heavy (thousands of lines a second from one chatty container) and
// expires by age, so a backend keeps it where it does not contend with the
// ECS state's writer (sqlitestore: a second database file; pgstore: its
// own tables, and it may batch events with COPY).
//
// Times are kept as Unix milliseconds, CloudWatch Logs' own unit, so what
// a client writes is what it reads back.

// ErrExists reports that a record being created already exists.
var ErrExists = errors.New("store: already exists")

// LogStore keeps CloudWatch Logs data. Every method is one transaction and
// safe for concurrent use.
type LogStore interface {
	// CreateLogGroup creates g; ErrExists if its name is taken in scope.
	CreateLogGroup(ctx context.Context, g LogGroup) error
	// LogGroup reads one group; ErrNotFound if absent.
	LogGroup(ctx context.Context, scope Scope, name string) (LogGroup, error)
	// LogGroups lists groups in name order.
	LogGroups(ctx context.Context, scope Scope, q LogGroupQuery) ([]LogGroup, error)
	// DeleteLogGroup deletes a group with its streams and events;
	// ErrNotFound if absent.
	DeleteLogGroup(ctx context.Context, scope Scope, name string) error
	// SetLogRetention sets a group's retention in days (0: never expire);
	// ErrNotFound if absent.
	SetLogRetention(ctx context.Context, scope Scope, name string, days int) error

	// CreateLogStream creates a stream in an existing group: ErrNotFound
	// (wrapping LogGroupMissing) without the group, ErrExists if taken.
	CreateLogStream(ctx context.Context, scope Scope, group, stream string, at time.Time) error
	// LogStreams lists a group's streams; ErrNotFound without the group.
	LogStreams(ctx context.Context, scope Scope, group string, q LogStreamQuery) ([]LogStream, error)
	// DeleteLogStream deletes a stream and its events; ErrNotFound
	// (wrapping LogGroupMissing when the group is the one missing).
	DeleteLogStream(ctx context.Context, scope Scope, group, stream string) error

	// PutLogEvents appends events to a stream. With create, a missing
	// group and stream are created first (the awslogs driver's
	// awslogs-create-group, and its stream creation); without it they
	// must exist (ErrNotFound, wrapping LogGroupMissing for the group).
	PutLogEvents(ctx context.Context, scope Scope, group, stream string, events []LogEvent, create bool) error
	// GetLogEvents reads one stream's events in (Timestamp, ID) order;
	// ErrNotFound without the group or stream.
	GetLogEvents(ctx context.Context, scope Scope, group, stream string, q LogEventsQuery) ([]LogEvent, error)
	// FilterLogEvents reads a group's events across streams in
	// (Timestamp, ID) order, keeping those q.Match accepts. It stops at
	// q.Limit matches or after q.ScanLimit events looked at, and reports
	// the position of the last event it looked at and whether it reached
	// the end; ErrNotFound without the group.
	FilterLogEvents(ctx context.Context, scope Scope, group string, q FilterLogEventsQuery) (FilterLogEventsResult, error)

	// ExpireLogEvents deletes events older than their group's retention
	// at now, and returns how many.
	ExpireLogEvents(ctx context.Context, now time.Time) (int64, error)
	// LogBytes is the size of the messages stored, as CloudWatch Logs
	// counts storedBytes (the metrics endpoint's "log bytes stored").
	LogBytes() int64
	// ResetLogs deletes everything (POST /moto-api/reset).
	ResetLogs(ctx context.Context) error
}

// LogGroupMissing is wrapped by the ErrNotFound of an operation on a
// stream whose group is the record missing, so callers can name the
// right one (CloudWatch Logs: "The specified log group does not exist."
// or "The specified log stream does not exist.").
var LogGroupMissing = errors.New("store: log group not found")

// LogGroup is a CloudWatch Logs log group.
type LogGroup struct {
	Scope
	Name          string
	CreatedAt     time.Time
	RetentionDays int // 0: events never expire
	StoredBytes   int64
}

// LogGroupQuery selects groups for DescribeLogGroups.
type LogGroupQuery struct {
	Prefix string
	// Contains, when set, keeps names containing it (logGroupNamePattern,
	// case-insensitive as CloudWatch Logs matches it).
	Contains string
	// After resumes strictly after this name.
	After string
	Limit int
}

// LogStream is a stream of a log group.
type LogStream struct {
	Group     string
	Name      string
	CreatedAt time.Time
	// FirstEvent, LastEvent and LastIngestion are Unix milliseconds; 0
	// while the stream has no events.
	FirstEvent, LastEvent, LastIngestion int64
	StoredBytes                          int64
}

// LogStreamQuery selects streams for DescribeLogStreams.
type LogStreamQuery struct {
	Prefix string
	// ByLastEvent orders by last event time (then name) instead of name.
	ByLastEvent bool
	Desc        bool
	// After resumes strictly after this stream in the chosen order; nil
	// starts at the beginning.
	After *LogStream
	Limit int
}

// LogEvent is one event. ID orders events written in the same
// millisecond and is unique within a store.
type LogEvent struct {
	ID        int64
	Stream    string
	Timestamp int64 // Unix milliseconds, from the writer
	Ingestion int64 // Unix milliseconds, when the store received it
	Message   string
}

// LogPosition is a place between events in (Timestamp, ID) order.
type LogPosition struct{ Timestamp, ID int64 }

// LogEventsQuery selects a stream's events for GetLogEvents.
type LogEventsQuery struct {
	// Start (inclusive) and End (exclusive) bound Timestamp; nil is
	// unbounded.
	Start, End *int64
	// Backward reads the Limit events just before Before (or the stream's
	// end) instead of those just after After (or its start). Either way
	// the result is in ascending order.
	Backward      bool
	After, Before *LogPosition
	Limit         int
	// MaxBytes bounds the messages returned (CloudWatch Logs: 1 MB).
	MaxBytes int
}

// FilterLogEventsQuery selects a group's events for FilterLogEvents.
type FilterLogEventsQuery struct {
	Streams      []string // nil: all
	StreamPrefix string
	Start, End   *int64
	After        *LogPosition
	// Match keeps an event's message; nil keeps all.
	Match func(message string) bool
	// Contains are substrings every message Match keeps contains: a store
	// may look for them itself so that fewer rows reach Match.
	Contains []string
	// Budget, when positive, is how long one call may look before it
	// answers what it found so far (Done false).
	Budget    time.Duration
	Limit     int
	ScanLimit int
	MaxBytes  int
}

// FilterLogEventsResult is a page of FilterLogEvents.
type FilterLogEventsResult struct {
	Events []LogEvent
	// Last is the position of the last event looked at (matching or
	// not); Done means no event after it was left to look at.
	Last LogPosition
	Done bool
}
