package fakedriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
)

func readLines(t *testing.T, d *fakedriver.Driver, opts driver.LogOptions) []driver.LogLine {
	t.Helper()
	var got []driver.LogLine
	if err := d.Logs(t.Context(), "g", "app", opts, func(l driver.LogLine) error {
		got = append(got, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestScriptedLogs(t *testing.T) {
	clk := newClock()
	d, err := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	spec := driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{
		Name: "app", Image: "nginx", Essential: true,
		Env: env(fakedriver.KnobLog, `hello {n}\nworld`, fakedriver.KnobLogEvery, "1", fakedriver.KnobRunSeconds, "10"),
	}}}
	if err := d.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2500 * time.Millisecond)
	got := readLines(t, d, driver.LogOptions{})
	want := []driver.LogLine{
		{Time: start, Stream: "stdout", Text: "hello 0"},
		{Time: start.Add(time.Second), Stream: "stdout", Text: "world"},
		{Time: start.Add(2 * time.Second), Stream: "stdout", Text: "hello 2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("lines after 2.5s (-want +got):\n%s", diff)
	}
	if got := readLines(t, d, driver.LogOptions{Since: start.Add(1500 * time.Millisecond)}); len(got) != 1 || got[0].Text != "hello 2" {
		t.Fatalf("since 1.5s: %+v", got)
	}
	if got := readLines(t, d, driver.LogOptions{Tail: 2}); len(got) != 2 || got[0].Text != "world" {
		t.Fatalf("tail 2: %+v", got)
	}
	// After exit at 10s: lines 0..10, and a follower returns at once.
	clk.Advance(time.Minute)
	if got := readLines(t, d, driver.LogOptions{Follow: true}); len(got) != 11 || got[10].Text != "hello 10" {
		t.Fatalf("after exit: %d lines, last %+v", len(got), got[len(got)-1])
	}
	if err := d.Logs(t.Context(), "nope", "app", driver.LogOptions{}, func(driver.LogLine) error { return nil }); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	if err := d.Logs(t.Context(), "g", "nope", driver.LogOptions{}, func(driver.LogLine) error { return nil }); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("unknown container: %v", err)
	}
}

// TestScriptedLogsFollow follows a running container on the real clock
// until it is stopped.
func TestScriptedLogsFollow(t *testing.T) {
	d, err := fakedriver.New(fakedriver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	spec := driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{
		Name: "app", Image: "nginx", Essential: true,
		Env: env(fakedriver.KnobLog, "tick {n}", fakedriver.KnobLogEvery, "0.005"),
	}}}
	if err := d.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n := 0
	err = d.Logs(ctx, "g", "app", driver.LogOptions{Follow: true}, func(l driver.LogLine) error {
		n++
		if n == 20 {
			if err := d.Stop(ctx, "g", time.Second); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || ctx.Err() != nil {
		t.Fatalf("follow: %v (ctx %v)", err, ctx.Err())
	}
	if n < 20 {
		t.Fatalf("followed %d lines", n)
	}
}
