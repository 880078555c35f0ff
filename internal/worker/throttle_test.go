package worker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
)

// failToStart does what the task supervisor does with a task whose image
// cannot be pulled: PENDING straight to STOPPED, never RUNNING.
func (f *schedFixture) failToStart(name string) int {
	f.t.Helper()
	n := 0
	f.rewrite(name, func(t *types.Task) bool {
		if *t.LastStatus == "STOPPED" {
			return false
		}
		t.LastStatus, t.DesiredStatus = svcPtr("STOPPED"), svcPtr("STOPPED")
		t.StopCode = types.TaskStopCodeTaskFailedToStart
		t.StoppedReason = svcPtr("CannotPullContainerError: pull access denied for nope, repository does not exist")
		t.StoppedAt = svcPtr(f.clock.Now())
		n++
		return true
	})
	return n
}

// TestServicesThrottleFailingLaunches: over 30 simulated minutes a service
// whose tasks never start is launched only as often as the back-off
// allows (ECS: increasing waits up to 27 minutes), posts "is unable to
// consistently start tasks successfully.", and a new deployment launches
// at once.
func TestServicesThrottleFailingLaunches(t *testing.T) {
	f := newSchedFixture(t, 0)
	td := f.register("web")
	f.create("web", td, 1, nil)
	launches := 0
	var at []time.Duration
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < 30*time.Minute {
		f.pass() // ticks 1s
		if n := f.failToStart("web"); n > 0 {
			launches += n
			at = append(at, f.clock.Now().Sub(start).Round(time.Second))
		}
		f.tick(4 * time.Second)
	}
	// Immediately, then after 10, 20, 40, ... 1280 s: 9 launches in 30m
	// (with the 5s steps of this loop rounding each wait up).
	if launches < 8 || launches > 10 {
		t.Fatalf("%d launches in 30 minutes at %v; want 8..10", launches, at)
	}
	for i := 2; i < len(at); i++ {
		if gap, prev := at[i]-at[i-1], at[i-1]-at[i-2]; gap < prev {
			t.Fatalf("wait shrank: launches at %v", at)
		}
	}
	if gap := at[len(at)-1] - at[len(at)-2]; gap > 27*time.Minute+5*time.Second {
		t.Fatalf("wait %s beyond ECS's 27 minutes: %v", gap, at)
	}
	s := f.service("web")
	msgs := messages(s)
	if !slices.Contains(msgs, ecs.EventUnableToStart("web")) {
		t.Fatalf("events %q lack the throttle event", msgs)
	}
	// Every "has started" event matches a launch.
	started := 0
	for _, m := range msgs {
		if len(m) > len("(service web) has started") && m[:len("(service web) has started")] == "(service web) has started" {
			started++
		}
	}
	if started != launches {
		t.Fatalf("%d 'has started' events for %d launches", started, launches)
	}

	// Updating the service to a new task definition ends the throttle.
	td2 := f.register("web")
	if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", TaskDefinition: svcPtr(td2)}); err != nil {
		t.Fatal(err)
	}
	f.pass()
	if n := live(f.tasks("web")); n != 1 {
		t.Fatalf("%d live tasks right after the update, want 1 launched at once", n)
	}
}
