// Command placement measures the EC2 placement engine
// (internal/reconcile/placement) on its own, without the API or a store:
//
//  1. batch: one request places -tasks tasks over 100, 1,000 and 10,000
//     instances (as RunTask or one scheduler pass does); the time per
//     placement, and its ratio to the smallest cluster's, show how the cost
//     grows with the number of instances;
//  2. one by one: -tasks requests of one task each over -seq-instances
//     instances, each request starting from the instances the previous one
//     left (as a scheduler placing tasks one at a time does); median, p99
//     and max per request.
//
// Every task asks for 256 CPU units, 512 MiB and one dynamic host port; the
// strategies are a service's: spread over Availability Zones, then binpack
// on memory. Every task must fit (the instances are sized for it).
//
//	go run ./bench/placement                 # 10,000 tasks
//	go run ./bench/placement -tasks 2000 -instances 100,1000
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/reconcile/placement"
)

func main() {
	tasks := flag.Int("tasks", 10000, "tasks to place")
	sizes := flag.String("instances", "100,1000,10000", "cluster sizes for the batch run")
	seqInstances := flag.Int("seq-instances", 1000, "cluster size for the one-by-one run (0 skips it)")
	runs := flag.Int("runs", 3, "batch runs per size; the fastest counts")
	flag.Parse()

	fmt.Printf("Go %s, %s/%s, %d CPUs, GOMAXPROCS %d\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("batch: %d tasks in one request\n\n", *tasks)
	fmt.Println("| instances | time per placement | per placement and instance | per instance, relative to the first size |")
	fmt.Println("|---|---|---|---|")
	var base float64
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			log.Fatalf("bad size %q", s)
		}
		best := time.Duration(1<<63 - 1)
		for range *runs {
			in := input(n, *tasks)
			start := time.Now()
			res := placement.Place(in)
			best = min(best, time.Since(start))
			check(res, *tasks)
		}
		per := float64(best.Nanoseconds()) / float64(*tasks)
		if base == 0 {
			base = per / float64(n)
		}
		fmt.Printf("| %d | %s | %.1f ns | %.2f |\n", n, dur(per), per/float64(n), (per/float64(n))/base)
	}
	if *seqInstances <= 0 {
		return
	}
	in := input(*seqInstances, *tasks)
	in.Count = 1
	lat := make([]time.Duration, 0, *tasks)
	instances := in.Instances
	for range *tasks {
		in.Instances = instances
		start := time.Now()
		res := placement.Place(in)
		lat = append(lat, time.Since(start))
		check(res, 1)
		instances = res.Instances
	}
	slices.Sort(lat)
	q := func(p float64) string { return dur(float64(lat[int(p*float64(len(lat)-1))].Nanoseconds())) }
	fmt.Printf("\none by one: %d requests of one task over %d instances\n\n", *tasks, *seqInstances)
	fmt.Println("| median | p99 | max |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| %s | %s | %s |\n", q(0.5), q(0.99), q(1))
}

func input(instances, tasks int) placement.Input {
	per := 2 * ((tasks + instances - 1) / instances)
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	in := placement.Input{
		Requirements: placement.Requirements{CPU: 256, Memory: 512, Ports: []placement.PortMapping{
			{Container: "web", ContainerPort: 80, Count: 1, Protocol: placement.TCP},
		}},
		Count: tasks,
		Group: "service:web",
		Strategies: []placement.Strategy{
			{Type: types.PlacementStrategyTypeSpread, Field: "attribute:" + placement.AttrAvailabilityZone},
			{Type: types.PlacementStrategyTypeBinpack, Field: placement.FieldMemory},
		},
		RandFunc: rand.New(rand.NewPCG(1, 2)).IntN,
	}
	for i := range instances {
		in.Instances = append(in.Instances, placement.Instance{
			ARN:    fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/bench/%032x", i),
			Status: placement.StatusActive, AgentConnected: true,
			Attributes: map[string]string{placement.AttrAvailabilityZone: zones[i%3], "ecs.os-type": "linux"},
			Remaining:  placement.Resources{CPU: 256 * per, Memory: 512 * per, PortsTCP: []int{22, 2375, 2376, 51678, 51679}, PortsUDP: []int{}},
		})
	}
	return in
}

func check(res placement.Result, want int) {
	if got := len(res.Placed()); got != want {
		fmt.Fprintf(os.Stderr, "placed %d of %d tasks: %+v\n", got, want, res.Failures()[0])
		os.Exit(1)
	}
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
