package sqlitestore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

func TestLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := sqlitestore.OpenLogs(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sc := store.Scope{Account: "000000000000", Region: "us-east-1"}
	now := time.Now()
	if err := l.CreateLogGroup(ctx, store.LogGroup{Scope: sc, Name: "g", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateLogGroup(ctx, store.LogGroup{Scope: sc, Name: "g", CreatedAt: now}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateLogGroup: %v, want ErrExists", err)
	}
	if err := l.CreateLogStream(ctx, sc, "nope", "s", now); !errors.Is(err, store.LogGroupMissing) {
		t.Fatalf("CreateLogStream in a missing group: %v", err)
	}
	if err := l.PutLogEvents(ctx, sc, "g", "s", []store.LogEvent{{Timestamp: 1, Message: "x"}}, false); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.LogGroupMissing) {
		t.Fatalf("PutLogEvents to a missing stream: %v", err)
	}
	var evs []store.LogEvent
	for i := range 50 {
		evs = append(evs, store.LogEvent{Timestamp: int64(1000 + i/2), Message: strings.Repeat("m", i%3+1)})
	}
	if err := l.PutLogEvents(ctx, sc, "g", "s", evs, true); err != nil {
		t.Fatal(err)
	}
	if err := l.PutLogEvents(ctx, sc, "auto", "other", evs[:3], true); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, e := range evs {
		want += int64(len(e.Message))
	}
	for _, e := range evs[:3] {
		want += int64(len(e.Message))
	}
	if got := l.LogBytes(); got != want {
		t.Fatalf("LogBytes = %d, want %d", got, want)
	}
	// Forward pages of 20 cover every event once, in order.
	var seen []store.LogEvent
	var after *store.LogPosition
	for {
		page, err := l.GetLogEvents(ctx, sc, "g", "s", store.LogEventsQuery{After: after, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		seen = append(seen, page...)
		last := page[len(page)-1]
		after = &store.LogPosition{Timestamp: last.Timestamp, ID: last.ID}
	}
	if len(seen) != len(evs) {
		t.Fatalf("forward paging saw %d events, want %d", len(seen), len(evs))
	}
	// Backward: the last 20, ascending.
	back, err := l.GetLogEvents(ctx, sc, "g", "s", store.LogEventsQuery{Backward: true, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 20 || back[19].ID != seen[49].ID || back[0].ID != seen[30].ID {
		t.Fatalf("backward page: %d events, first %d last %d", len(back), back[0].ID, back[len(back)-1].ID)
	}
	// Time bounds: start inclusive, end exclusive.
	start, end := int64(1005), int64(1010)
	in, err := l.GetLogEvents(ctx, sc, "g", "s", store.LogEventsQuery{Start: &start, End: &end, Limit: 100})
	if err != nil || len(in) != 10 {
		t.Fatalf("bounded read: %d events, %v", len(in), err)
	}
	f, err := l.FilterLogEvents(ctx, sc, "g", store.FilterLogEventsQuery{Limit: 100, Match: func(m string) bool { return m == "mmm" }})
	if err != nil || !f.Done || len(f.Events) != 16 {
		t.Fatalf("filter: %d events, done %v, %v", len(f.Events), f.Done, err)
	}
	streams, err := l.LogStreams(ctx, sc, "g", store.LogStreamQuery{Limit: 10})
	if err != nil || len(streams) != 1 || streams[0].FirstEvent != 1000 || streams[0].LastEvent != 1024 {
		t.Fatalf("streams: %+v %v", streams, err)
	}
	// Retention of one day expires everything written at 1970.
	if err := l.SetLogRetention(ctx, sc, "g", 1); err != nil {
		t.Fatal(err)
	}
	n, err := l.ExpireLogEvents(ctx, now)
	if err != nil || n != int64(len(evs)) {
		t.Fatalf("expired %d, %v", n, err)
	}
	if err := l.DeleteLogGroup(ctx, sc, "auto"); err != nil {
		t.Fatal(err)
	}
	if got := l.LogBytes(); got != 0 {
		t.Fatalf("LogBytes after expiry and delete = %d", got)
	}
	l.Close()
	// Reopened, the groups and the byte count are as left.
	l2, err := sqlitestore.OpenLogs(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	gs, err := l2.LogGroups(ctx, sc, store.LogGroupQuery{Limit: 50})
	if err != nil || len(gs) != 1 || gs[0].Name != "g" || gs[0].RetentionDays != 1 {
		t.Fatalf("groups after reopen: %+v %v", gs, err)
	}
}
