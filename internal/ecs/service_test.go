package ecs_test

import (
	"regexp"
	"testing"

	"github.com/ecsd/ecsd/internal/ecs"
)

func TestServiceIdentifiers(t *testing.T) {
	depRE := regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)
	sdRE := regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := ecs.NewDeploymentID()
		if !depRE.MatchString(id) || seen[id] {
			t.Fatalf("deployment id %q (repeated: %v)", id, seen[id])
		}
		seen[id] = true
		if back := ecs.DeploymentIDOfRevision(ecs.ServiceRevisionARN("eu-west-1", "123456789012", "c", "s", ecs.RevisionID(id))); back != id {
			t.Fatalf("revision round trip: %s -> %s", id, back)
		}
		if sd := ecs.NewServiceDeploymentID(); !sdRE.MatchString(sd) {
			t.Fatalf("service deployment id %q", sd)
		}
	}
}

func TestDeploymentLimits(t *testing.T) {
	tests := []struct{ desired, pct, minHealthy, max int }{
		{4, 50, 2, 2},
		{3, 50, 2, 1},  // 1.5: minimum rounds up, maximum down
		{3, 150, 5, 4}, // 4.5
		{1, 100, 1, 1},
		{1, 200, 2, 2},
		{5, 0, 0, 0},
		{0, 100, 0, 0},
		{7, 33, 3, 2}, // 2.31
	}
	for _, tt := range tests {
		if got := ecs.MinimumHealthyTasks(tt.desired, tt.pct); got != tt.minHealthy {
			t.Errorf("MinimumHealthyTasks(%d, %d) = %d, want %d", tt.desired, tt.pct, got, tt.minHealthy)
		}
		if got := ecs.MaximumTasks(tt.desired, tt.pct); got != tt.max {
			t.Errorf("MaximumTasks(%d, %d) = %d, want %d", tt.desired, tt.pct, got, tt.max)
		}
	}
}

func TestServiceEventTexts(t *testing.T) {
	tests := []struct{ got, want string }{
		{ecs.EventTasksStarted("web", []string{"a1"}), "(service web) has started 1 tasks: (task a1)."},
		{ecs.EventTasksStopped("web", []string{"a1", "b2"}), "(service web) has stopped 2 running tasks: (task a1) (task b2)."},
		{ecs.EventSteadyState("web"), "(service web) has reached a steady state."},
		{ecs.EventDeploymentCompleted("web", "ecs-svc/1"), "(service web) (deployment ecs-svc/1) deployment completed."},
		{ecs.EventDeploymentFailed("web", "ecs-svc/1"), "(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start."},
		{ecs.EventRollingBack("web", "ecs-svc/2"), "(service web) rolling back to deployment ecs-svc/2."},
		{ecs.RolloutRollingBack("ecs-svc/2"), "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/2."},
		{ecs.StopReasonScaling("ecs-svc/3"), "Scaling activity initiated by (deployment ecs-svc/3)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q\nwant %q", tt.got, tt.want)
		}
	}
}
