package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchCluster returns n ACTIVE instances over three zones, each with room
// for perInstance tasks of BenchTask, and their agent-reserved ports.
func benchCluster(n, perInstance int) []Instance {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	out := make([]Instance, n)
	for i := range out {
		out[i] = Instance{
			ARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/bench/%032x", i), Status: StatusActive, AgentConnected: true,
			Attributes: map[string]string{AttrAvailabilityZone: zones[i%3], "ecs.instance-type": "m5.xlarge", "ecs.os-type": "linux"},
			Remaining:  Resources{CPU: 256 * perInstance, Memory: 512 * perInstance, PortsTCP: []int{22, 2375, 2376, 51678, 51679}, PortsUDP: []int{}},
		}
	}
	return out
}

// benchInput is a service's scale-out: spread over zones, then binpack on
// memory, one dynamic host port per task.
func benchInput(instances, tasks int) Input {
	per := 2 * ((tasks + instances - 1) / instances)
	return Input{
		Instances: benchCluster(instances, per),
		Requirements: Requirements{CPU: 256, Memory: 512, Ports: []PortMapping{
			{Container: "web", ContainerPort: 80, Count: 1, Protocol: TCP},
		}},
		Count:      tasks,
		Group:      "service:web",
		Strategies: []Strategy{spread("attribute:" + AttrAvailabilityZone), binpack(FieldMemory)},
		RandFunc:   rand.New(rand.NewPCG(1, 2)).IntN,
	}
}

// BenchmarkPlace places 10,000 tasks in one request over 100, 1,000 and
// 10,000 instances; ns/placement is the cost of one task. Each placement
// looks at every instance once, so the cost grows linearly in instances.
func BenchmarkPlace(b *testing.B) {
	const tasks = 10000
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d/tasks=%d", n, tasks), func(b *testing.B) {
			in := benchInput(n, tasks)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				res := Place(in)
				if f := res.Failures(); len(f) > 0 {
					b.Fatalf("%d tasks not placed: %+v", len(f), f[0])
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*tasks), "ns/placement")
		})
	}
}
