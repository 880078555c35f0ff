package placement

import (
	"cmp"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// StopInput asks which of a group's tasks a service stops when it scales
// in.
type StopInput struct {
	// Instances carry the tasks; those of Group are the candidates.
	Instances []Instance
	Group     string
	Count     int
	// Strategies are the service's; none means the service default.
	Strategies []Strategy
	// SkipFunc, when set, excludes tasks that must not be stopped (task
	// scale-in protection, tasks already stopping).
	SkipFunc func(t *Task) bool
	// RandFunc breaks ties as in Input.
	RandFunc func(n int) int
}

// SelectTasksToStop returns the ARNs of the tasks to stop, in order, at most
// in.Count. The strategies decide in reverse of placement [V developer
// guide, task placement strategies]:
//
//   - binpack: "The container instance that has the most available resources
//     remaining after task termination has that task terminated";
//   - spread: "Amazon ECS selects tasks to terminate that maintain a balance
//     across Availability Zones. Within an Availability Zone, tasks are
//     selected at random." — the value (or instance) holding the most of
//     the group's tasks loses one;
//   - random: any.
//
// Without strategies, a service keeps its tasks balanced across
// Availability Zones, "favoring container instances with the largest number
// of running tasks for this service" [V developer guide, "Amazon ECS
// services"]: the default spread strategies in reverse.
func SelectTasksToStop(in StopInput) []string {
	strategies := in.Strategies
	if len(strategies) == 0 {
		strategies = ServiceDefaultStrategies()
	}
	type box struct {
		in    *Instance
		tasks []int // indices of candidate tasks in in.Tasks
		group int   // tasks of the group on the instance, skipped ones included
		// cpu and mem are the instance's remaining resources as the tasks
		// chosen so far free theirs.
		cpu, mem int
	}
	boxes := make([]*box, 0, len(in.Instances))
	for i := range in.Instances {
		b := &box{in: &in.Instances[i], cpu: in.Instances[i].Remaining.CPU, mem: in.Instances[i].Remaining.Memory}
		for j := range b.in.Tasks {
			t := &b.in.Tasks[j]
			if t.Group != in.Group {
				continue
			}
			b.group++
			if in.SkipFunc == nil || !in.SkipFunc(t) {
				b.tasks = append(b.tasks, j)
			}
		}
		boxes = append(boxes, b)
	}
	slices.SortStableFunc(boxes, func(a, b *box) int { return cmp.Compare(a.in.ARN, b.in.ARN) })
	// counts[k] holds, for the k-th strategy spreading on an attribute, the
	// group's tasks per value.
	counts := make([]map[string]int, len(strategies))
	for k, s := range strategies {
		if a := s.Attribute(); a != "" {
			counts[k] = map[string]int{}
			for _, b := range boxes {
				counts[k][b.in.Attributes[a]] += b.group
			}
		}
	}
	var out []string
	cand := make([]int, 0, len(boxes))
	for len(out) < in.Count {
		cand = cand[:0]
		for i, b := range boxes {
			if len(b.tasks) > 0 {
				cand = append(cand, i)
			}
		}
		if len(cand) == 0 {
			break
		}
	rules:
		for k, s := range strategies {
			if len(cand) <= 1 {
				break
			}
			switch s.Type {
			case types.PlacementStrategyTypeRandom:
				if in.RandFunc != nil {
					i := in.RandFunc(len(cand))
					cand = cand[i : i+1]
				}
				break rules
			case types.PlacementStrategyTypeBinpack:
				cand = keepMinBy(cand, func(i int) int {
					if s.Field == FieldCPU {
						return -boxes[i].cpu
					}
					return -boxes[i].mem
				})
			case types.PlacementStrategyTypeSpread:
				if counts[k] == nil {
					cand = keepMinBy(cand, func(i int) int { return -boxes[i].group })
				} else {
					a := s.Attribute()
					cand = keepMinBy(cand, func(i int) int { return -counts[k][boxes[i].in.Attributes[a]] })
				}
			}
		}
		pick := cand[0]
		if len(cand) > 1 && in.RandFunc != nil {
			pick = cand[in.RandFunc(len(cand))]
		}
		b := boxes[pick]
		j := 0
		if in.RandFunc != nil {
			j = in.RandFunc(len(b.tasks))
		}
		t := &b.in.Tasks[b.tasks[j]]
		out = append(out, t.ARN)
		b.cpu += t.CPU
		b.mem += t.Memory
		b.tasks = slices.Delete(b.tasks, j, j+1)
		b.group--
		for k, s := range strategies {
			if counts[k] != nil {
				counts[k][b.in.Attributes[s.Attribute()]]--
			}
		}
	}
	return out
}
