package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func tasksOf(group string, mem int, arns ...string) []Task {
	out := make([]Task, len(arns))
	for i, a := range arns {
		out[i] = Task{ARN: a, Group: group, Memory: mem}
	}
	return out
}

func TestSelectTasksToStop(t *testing.T) {
	cluster := func() []Instance {
		return []Instance{
			with(inst("a1", "us-east-1a"), func(in *Instance) { in.Tasks = tasksOf("service:web", 100, "a1-t1", "a1-t2") }),
			with(inst("a2", "us-east-1a"), func(in *Instance) {
				in.Tasks = append(tasksOf("service:web", 100, "a2-t1"), tasksOf("service:other", 100, "x1", "x2", "x3")...)
			}),
			with(inst("b1", "us-east-1b"), func(in *Instance) {
				in.Remaining.Memory = 100
				in.Tasks = tasksOf("service:web", 100, "b1-t1")
			}),
		}
	}
	tests := []struct {
		name       string
		strategies []Strategy
		count      int
		skip       func(*Task) bool
		want       []string
	}{
		{
			// The default keeps the zones balanced and takes from the
			// instance with the most of the service's tasks.
			name: "default: the fullest zone, then the fullest instance", count: 3,
			want: []string{"a1-t1", "a1-t2", "a2-t1"},
		},
		{
			name: "spread by instance", count: 2, strategies: []Strategy{spread(FieldInstanceID)},
			want: []string{"a1-t1", "a1-t2"},
		},
		{
			// "The container instance that has the most available resources
			// remaining after task termination has that task terminated"
			name: "binpack: the instance left with the most memory", count: 2, strategies: []Strategy{binpack(FieldMemory)},
			want: []string{"a1-t1", "a1-t2"},
		},
		{
			name: "protected tasks are kept", count: 5,
			skip: func(t *Task) bool { return t.ARN == "a1-t1" || t.ARN == "b1-t1" },
			want: []string{"a1-t2", "a2-t1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			instances := cluster()
			got := SelectTasksToStop(StopInput{Instances: instances, Group: "service:web", Count: tc.count, Strategies: tc.strategies, SkipFunc: tc.skip})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(cluster(), instances); diff != "" {
				t.Errorf("instances changed:\n%s", diff)
			}
		})
	}
}
