package reliability

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The EC2 half of the crash campaign: container instances registered as
// the ECS agent registers them, drained, reactivated and deregistered,
// EC2 tasks placed on them (static and dynamic host ports), an EC2 service
// the scheduler places and moves off draining instances, and a capacity
// provider whose simulated Auto Scaling group managed scaling grows and
// shrinks. After each restart every instance's books must balance:
// remainingResources = registered - what the tasks placed on it that are
// not STOPPED hold, for CPU, MEMORY and PORTS, and no host port (static or
// dynamic) is held by two tasks of one instance.

const (
	ec2Cluster   = "crash_ec2" // API-registered instances
	asgCluster   = "crash_asg" // the capacity provider's instances
	asgProvider  = "crash_cp"
	ec2Service   = "crash_ec2_svc"
	maxInstances = 5  // API-registered instances not deregistered
	maxEC2Tasks  = 16 // standalone EC2 tasks the load keeps at most
	instanceCPU  = 2048
	instanceMem  = 4096
	taskCPU      = 256
	taskMem      = 256
)

// ec2Families maps each EC2 family to its static host port (0: none); every
// family also has a container port without a host port, which takes a
// dynamic one.
var ec2Families = map[string]int{"crash_ec2_a": 8001, "crash_ec2_b": 8002, "crash_ec2_dyn": 0}

// agentPorts are the ports the agent reserves on the instances it registers.
var agentPorts = []string{"22", "2375", "2376", "51678", "51679"}

// instance is a container instance the load registered (or may have).
type instance struct {
	ec2ID string
	arn   string // "" until acknowledged or seen
	acked bool
	// possible are the statuses it may have; INACTIVE means deregistered.
	possible map[string]bool
}

// ec2Model is what the campaign knows of the EC2 clusters.
type ec2Model struct {
	instances map[string]*instance // by EC2 instance ID
	live      []ec2Task            // acknowledged EC2 tasks not yet asked to stop
	ackedRuns map[string]string    // every acknowledged EC2 task -> its cluster
	final     map[string]bool      // EC2 tasks seen STOPPED
	// Counts for the report.
	instanceChecks, tasksOnInstances, resourceAssertions int
	asgMin, asgMax                                       int
	asgSeen                                              bool
}

type ec2Task struct{ arn, cluster string }

func newEC2Model() *ec2Model {
	return &ec2Model{instances: map[string]*instance{}, ackedRuns: map[string]string{}, final: map[string]bool{}}
}

// ec2Flags are the flags the campaign's ecsd runs with for the EC2 load:
// managed scaling evaluated often, its scale-in waits short, so the
// group grows and shrinks within one round of load.
var ec2Flags = []string{"--managed-scaling-interval", "100ms", "--scale-in-wait", "300ms"}

func ec2TaskDef(family string, hostPort int) *ecs.RegisterTaskDefinitionInput {
	ports := []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	if hostPort > 0 {
		ports = append(ports, types.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(int32(hostPort))})
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeBridge,
		Cpu: aws.String(strconv.Itoa(taskCPU)), Memory: aws.String(strconv.Itoa(taskMem)),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:1.36"), PortMappings: ports}},
	}
}

// setupEC2 creates the EC2 clusters, the capacity provider, the families
// and the EC2 service.
func (c *crash) setupEC2(ctx context.Context, cl *ecs.Client) error {
	if _, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(ec2Cluster)}); err != nil {
		return err
	}
	for _, f := range slices.Sorted(maps.Keys(ec2Families)) {
		if _, err := cl.RegisterTaskDefinition(ctx, ec2TaskDef(f, ec2Families[f])); err != nil {
			return err
		}
	}
	if _, err := cl.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{
		Name: aws.String(asgProvider),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String("arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/crash-asg"),
			ManagedScaling: &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
				InstanceWarmupPeriod: aws.Int32(0)},
			ManagedTerminationProtection: types.ManagedTerminationProtectionDisabled,
			ManagedDraining:              types.ManagedDrainingEnabled,
		},
		Tags: []types.Tag{{Key: aws.String("ecsd:asg-max-size"), Value: aws.String("4")}},
	}); err != nil {
		return err
	}
	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String(asgProvider), Weight: 1}}
	if _, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(asgCluster),
		CapacityProviders: []string{asgProvider}, DefaultCapacityProviderStrategy: strategy}); err != nil {
		return err
	}
	_, err := cl.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(ec2Cluster), ServiceName: aws.String(ec2Service), TaskDefinition: aws.String("crash_ec2_dyn"),
		DesiredCount: aws.Int32(3), LaunchType: types.LaunchTypeEc2,
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}},
	})
	return err
}

func registerInput(ec2ID string) *ecs.RegisterContainerInstanceInput {
	doc := fmt.Sprintf(`{"accountId":"000000000000","architecture":"x86_64","availabilityZone":"us-east-1a","imageId":"ami-0e2c8caa4b6378d8c","instanceId":%q,"instanceType":"m5.large","privateIp":"10.0.1.2","region":"us-east-1","version":"2017-09-30"}`, ec2ID)
	attrs := []types.Attribute{{Name: aws.String("ecs.os-type"), Value: aws.String("linux")}}
	for v := 17; v <= 44; v++ {
		attrs = append(attrs, types.Attribute{Name: aws.String(fmt.Sprintf("com.amazonaws.ecs.capability.docker-remote-api.1.%d", v))})
	}
	return &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(ec2Cluster), InstanceIdentityDocument: aws.String(doc), InstanceIdentityDocumentSignature: aws.String("c2ln"),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: instanceCPU},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: instanceMem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: agentPorts},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.86.0"), AgentHash: aws.String("a1b2c3d4"), DockerVersion: aws.String("DockerVersion: 25.0.6")},
		Attributes:  attrs,
	}
}

// instancer registers instances up to maxInstances and drains,
// reactivates and deregisters them.
func (c *crash) instancer(ctx context.Context, cl *ecs.Client) {
	m := c.ec2
	for pause(ctx, 25*time.Millisecond) {
		c.mu.Lock()
		var up []*instance
		for _, in := range m.instances {
			if in.acked && !in.possible["INACTIVE"] {
				up = append(up, in)
			}
		}
		slices.SortFunc(up, func(a, b *instance) int { return strings.Compare(a.ec2ID, b.ec2ID) })
		c.mu.Unlock()
		if len(up) < maxInstances && c.intn(3) == 0 || len(up) == 0 {
			c.mu.Lock()
			c.seq++
			in := &instance{ec2ID: fmt.Sprintf("i-%017x", c.seq), possible: map[string]bool{"ACTIVE": true}}
			m.instances[in.ec2ID] = in
			c.mu.Unlock()
			out, err := cl.RegisterContainerInstance(ctx, registerInput(in.ec2ID))
			res, more := c.tally(ctx, "RegisterContainerInstance", err)
			c.mu.Lock()
			switch res {
			case acked:
				in.acked, in.arn = true, aws.ToString(out.ContainerInstance.ContainerInstanceArn)
			case rejected:
				delete(m.instances, in.ec2ID)
			}
			c.mu.Unlock()
			if !more {
				return
			}
			continue
		}
		in := up[c.intn(len(up))]
		if c.intn(6) == 0 {
			_, err := cl.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
				Cluster: aws.String(ec2Cluster), ContainerInstance: aws.String(in.arn), Force: aws.Bool(true)})
			res, more := c.tally(ctx, "DeregisterContainerInstance", err)
			c.mu.Lock()
			switch res {
			case acked:
				in.possible = map[string]bool{"INACTIVE": true}
			case unknown:
				in.possible["INACTIVE"] = true
			}
			c.mu.Unlock()
			if !more {
				return
			}
			continue
		}
		status := types.ContainerInstanceStatusDraining
		if c.intn(2) == 0 {
			status = types.ContainerInstanceStatusActive
		}
		_, err := cl.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String(ec2Cluster), ContainerInstances: []string{in.arn}, Status: status})
		res, more := c.tally(ctx, "UpdateContainerInstancesState", err)
		c.mu.Lock()
		switch res {
		case acked:
			in.possible = map[string]bool{string(status): true}
		case unknown:
			in.possible[string(status)] = true
		}
		c.mu.Unlock()
		if !more {
			return
		}
	}
}

// ec2Runner runs standalone EC2 tasks on the registered instances and on
// the capacity provider (where they wait in PROVISIONING until managed
// scaling brings instances), and stops them again.
func (c *crash) ec2Runner(ctx context.Context, cl *ecs.Client) {
	m := c.ec2
	families := slices.Sorted(maps.Keys(ec2Families))
	for pause(ctx, 10*time.Millisecond) {
		c.mu.Lock()
		n := len(m.live)
		c.mu.Unlock()
		if n > 0 && (n >= maxEC2Tasks || c.intn(3) == 0) {
			c.mu.Lock()
			i := c.intn(len(m.live))
			t := m.live[i]
			m.live = slices.Delete(m.live, i, i+1)
			c.mu.Unlock()
			_, err := cl.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(t.cluster), Task: aws.String(t.arn)})
			if _, more := c.tally(ctx, "StopTask (EC2)", err); !more {
				return
			}
			continue
		}
		in := &ecs.RunTaskInput{Cluster: aws.String(ec2Cluster), TaskDefinition: aws.String(families[c.intn(len(families))]),
			Count: aws.Int32(int32(1 + c.intn(2))), LaunchType: types.LaunchTypeEc2}
		if c.intn(2) == 0 {
			in.Cluster, in.LaunchType = aws.String(asgCluster), ""
		}
		out, err := cl.RunTask(ctx, in)
		res, more := c.tally(ctx, "RunTask (EC2)", err)
		if res == acked {
			c.mu.Lock()
			for _, t := range out.Tasks {
				arn := aws.ToString(t.TaskArn)
				m.live = append(m.live, ec2Task{arn: arn, cluster: aws.ToString(in.Cluster)})
				m.ackedRuns[arn] = aws.ToString(in.Cluster)
			}
			c.mu.Unlock()
		}
		if !more {
			return
		}
	}
}

// listInstances returns a cluster's ACTIVE and DRAINING container
// instances, described, by ARN.
func listInstances(ctx context.Context, cl *ecs.Client, cluster string) (map[string]types.ContainerInstance, error) {
	var arns []string
	for _, st := range []types.ContainerInstanceStatus{types.ContainerInstanceStatusActive, types.ContainerInstanceStatusDraining} {
		p := ecs.NewListContainerInstancesPaginator(cl, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Status: st, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			arns = append(arns, page.ContainerInstanceArns...)
		}
	}
	out := map[string]types.ContainerInstance{}
	for chunk := range slices.Chunk(arns, 100) {
		d, err := cl.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: chunk})
		if err != nil {
			return nil, err
		}
		if len(d.Failures) > 0 {
			return nil, fmt.Errorf("DescribeContainerInstances of listed instances failed: %+v", d.Failures[0])
		}
		for _, ci := range d.ContainerInstances {
			out[aws.ToString(ci.ContainerInstanceArn)] = ci
		}
	}
	return out, nil
}

// verifyEC2 checks the instances against the registration, draining and
// deregistration calls made, that every acknowledged EC2 task exists, and
// that every instance's resources balance.
func (c *crash) verifyEC2(ctx context.Context, cl *ecs.Client) {
	m := c.ec2
	got, err := listInstances(ctx, cl, ec2Cluster)
	if err != nil {
		c.failf("listing the instances of %s: %v", ec2Cluster, err)
		return
	}
	byEC2 := map[string]types.ContainerInstance{}
	for _, ci := range got {
		byEC2[aws.ToString(ci.Ec2InstanceId)] = ci
	}
	c.mu.Lock()
	ok := 0
	fail := func(format string, args ...any) {
		c.report.Failures = append(c.report.Failures, fmt.Sprintf(format, args...))
	}
	for id, ci := range byEC2 {
		if _, known := m.instances[id]; !known {
			fail("container instance %s (%s) is registered but no call registered it", aws.ToString(ci.ContainerInstanceArn), id)
		}
	}
	for id, in := range m.instances {
		ci, listed := byEC2[id]
		status := "INACTIVE"
		if listed {
			status = aws.ToString(ci.Status)
		}
		switch {
		case !in.acked && !listed:
			delete(m.instances, id) // its registration was lost with the process
			continue
		case !in.possible[status]:
			fail("container instance %s is %s; the acknowledged (or in-flight) calls allow only %v", id, status, slices.Sorted(maps.Keys(in.possible)))
		default:
			ok++
		}
		if !in.acked {
			c.report.ResolvedCommitted++
			in.acked, in.arn = true, aws.ToString(ci.ContainerInstanceArn)
		}
		in.possible = map[string]bool{status: true}
	}
	acked := slices.Collect(maps.Keys(m.ackedRuns))
	clusters := maps.Clone(m.ackedRuns)
	c.report.Assertions += ok
	c.mu.Unlock()

	for _, cluster := range []string{ec2Cluster, asgCluster} {
		var arns []string
		for _, arn := range acked {
			if clusters[arn] == cluster {
				arns = append(arns, arn)
			}
		}
		for chunk := range slices.Chunk(arns, 100) {
			d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
			if err != nil {
				c.failf("DescribeTasks of acknowledged EC2 tasks: %v", err)
				break
			}
			for _, f := range d.Failures {
				c.failf("EC2 task %s was acknowledged and is gone (%s)", aws.ToString(f.Arn), aws.ToString(f.Reason))
			}
			c.held(len(d.Tasks))
		}
		c.verifyResources(ctx, cl, cluster)
	}
}

// ec2Tasks returns a cluster's tasks that are not STOPPED, by ARN. Tasks
// seen STOPPED are not described again.
func (c *crash) ec2Tasks(ctx context.Context, cl *ecs.Client, cluster string) (map[string]types.Task, error) {
	var arns []string
	for _, st := range allDesired {
		p := ecs.NewListTasksPaginator(cl, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: st, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	c.mu.Lock()
	arns = slices.DeleteFunc(arns, func(arn string) bool { return c.ec2.final[arn] })
	c.mu.Unlock()
	out := map[string]types.Task{}
	for chunk := range slices.Chunk(arns, 100) {
		d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
		if err != nil {
			return nil, err
		}
		for _, t := range d.Tasks {
			arn := aws.ToString(t.TaskArn)
			if aws.ToString(t.LastStatus) == "STOPPED" {
				c.mu.Lock()
				c.ec2.final[arn] = true
				c.mu.Unlock()
				continue
			}
			out[arn] = t
		}
	}
	return out, nil
}

// booked is what one instance's tasks hold, as the campaign adds it up.
type booked struct {
	cpu, mem int
	static   []string
	tasks    int
	// hostPorts maps each host port in the tasks' networkBindings to the
	// task holding it.
	hostPorts map[string]string
}

// verifyResources checks, for every ACTIVE or DRAINING instance of the
// cluster, that remainingResources = registered - the resources of the
// tasks on it that are not STOPPED (CPU, MEMORY, PORTS), that its task
// counts match, and that no host port is booked twice on it. The
// scheduler and managed scaling keep running while the load is parked, so
// it reads the instances before and after the tasks and tries again until
// the two reads agree.
func (c *crash) verifyResources(ctx context.Context, cl *ecs.Client, cluster string) {
	var why string
	for attempt := 0; attempt < 50; attempt++ {
		if attempt > 0 && !pause(ctx, 100*time.Millisecond) {
			break
		}
		before, err := listInstances(ctx, cl, cluster)
		if err != nil {
			why = err.Error()
			continue
		}
		tasks, err := c.ec2Tasks(ctx, cl, cluster)
		if err != nil {
			why = err.Error()
			continue
		}
		after, err := listInstances(ctx, cl, cluster)
		if err != nil {
			why = err.Error()
			continue
		}
		if !sameBooks(before, after) {
			why = "the instances changed while they were read"
			continue
		}
		c.checkBooks(cluster, after, tasks)
		return
	}
	c.failf("%s: no consistent read of the instances' resources: %s", cluster, why)
}

func sameBooks(a, b map[string]types.ContainerInstance) bool {
	if len(a) != len(b) {
		return false
	}
	for arn, x := range a {
		y, ok := b[arn]
		if !ok || x.RunningTasksCount != y.RunningTasksCount || x.PendingTasksCount != y.PendingTasksCount ||
			resourceString(x.RemainingResources) != resourceString(y.RemainingResources) {
			return false
		}
	}
	return true
}

func resourceString(rs []types.Resource) string {
	var b strings.Builder
	for _, r := range rs {
		set := slices.Clone(r.StringSetValue)
		slices.Sort(set)
		fmt.Fprintf(&b, "%s=%d%v;", aws.ToString(r.Name), r.IntegerValue, set)
	}
	return b.String()
}

func resourceNamed(rs []types.Resource, name string) types.Resource {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

func (c *crash) checkBooks(cluster string, instances map[string]types.ContainerInstance, tasks map[string]types.Task) {
	books := map[string]*booked{}
	for arn := range instances {
		books[arn] = &booked{hostPorts: map[string]string{}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.ec2
	fail := func(format string, args ...any) {
		c.report.Failures = append(c.report.Failures, fmt.Sprintf(format, args...))
	}
	ok := 0
	for arn, t := range tasks {
		b := books[aws.ToString(t.ContainerInstanceArn)]
		if b == nil {
			continue // PROVISIONING without an instance, or on one deregistered
		}
		b.tasks++
		cpu, _ := strconv.Atoi(aws.ToString(t.Cpu))
		mem, _ := strconv.Atoi(aws.ToString(t.Memory))
		b.cpu += cpu
		b.mem += mem
		family := aws.ToString(t.TaskDefinitionArn)
		family = family[strings.LastIndex(family, "/")+1:]
		family, _, _ = strings.Cut(family, ":")
		if p := ec2Families[family]; p > 0 {
			b.static = append(b.static, strconv.Itoa(p))
		}
		for _, ct := range t.Containers {
			for _, nb := range ct.NetworkBindings {
				key := fmt.Sprintf("%d/%s", aws.ToInt32(nb.HostPort), nb.Protocol)
				if other, dup := b.hostPorts[key]; dup {
					fail("%s: host port %s held by two tasks on %s: %s and %s", cluster, key, aws.ToString(t.ContainerInstanceArn), other, arn)
				} else {
					ok++
				}
				b.hostPorts[key] = arn
			}
		}
	}
	sizes := 0
	for arn, ci := range instances {
		b := books[arn]
		sizes++
		m.instanceChecks++
		m.tasksOnInstances += b.tasks
		reg, rem := ci.RegisteredResources, ci.RemainingResources
		wantCPU := resourceNamed(reg, "CPU").IntegerValue - int32(b.cpu)
		wantMem := resourceNamed(reg, "MEMORY").IntegerValue - int32(b.mem)
		if got := resourceNamed(rem, "CPU").IntegerValue; got != wantCPU {
			fail("%s: instance %s remaining CPU %d, registered - tasks = %d (%d tasks)", cluster, arn, got, wantCPU, b.tasks)
		} else {
			ok++
		}
		if got := resourceNamed(rem, "MEMORY").IntegerValue; got != wantMem {
			fail("%s: instance %s remaining MEMORY %d, registered - tasks = %d (%d tasks)", cluster, arn, got, wantMem, b.tasks)
		} else {
			ok++
		}
		wantPorts := slices.Clone(resourceNamed(reg, "PORTS").StringSetValue)
		for _, p := range b.static {
			if slices.Contains(wantPorts, p) {
				fail("%s: instance %s: static host port %s booked twice (or over a reserved port)", cluster, arn, p)
			}
			wantPorts = append(wantPorts, p)
		}
		slices.Sort(wantPorts)
		gotPorts := slices.Clone(resourceNamed(rem, "PORTS").StringSetValue)
		slices.Sort(gotPorts)
		if !slices.Equal(gotPorts, wantPorts) {
			fail("%s: instance %s remaining PORTS %v, registered + tasks' static ports = %v", cluster, arn, gotPorts, wantPorts)
		} else {
			ok++
		}
		if n := int(ci.RunningTasksCount + ci.PendingTasksCount); n != b.tasks {
			fail("%s: instance %s counts %d running + %d pending tasks, %d are on it", cluster, arn, ci.RunningTasksCount, ci.PendingTasksCount, b.tasks)
		} else {
			ok++
		}
	}
	if cluster == asgCluster {
		if !m.asgSeen || sizes < m.asgMin {
			m.asgMin = sizes
		}
		m.asgMax = max(m.asgMax, sizes)
		m.asgSeen = true
	}
	m.resourceAssertions += ok
	c.report.Assertions += ok
}
