package reliability

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CrashConfig is one crash-safety campaign.
type CrashConfig struct {
	Binary  string // the ecsd binary
	WorkDir string // holds data/ and one log per ecsd run
	Kills   int    // SIGKILLs under load (each followed by a restart)
	// The load runs for a time uniform in [MinUptime, MaxUptime) before
	// each kill. Default 0 to 1.5s.
	MinUptime, MaxUptime time.Duration
	// Converge is the deadline for services and tasks to settle after a
	// restart. Default 60s.
	Converge time.Duration
	Seed     uint64
	Progress io.Writer // one line per round; nil: quiet
	// AfterKillFunc, if set, runs while ecsd is dead after each kill,
	// with the data directory. Tests use it to damage the state on
	// purpose and prove the checks notice.
	AfterKillFunc func(kill int, dataDir string) error
}

// The write operations the load sends, in report order.
var crashKinds = []string{"RegisterTaskDefinition", "DeregisterTaskDefinition", "RunTask", "StopTask", "CreateService", "UpdateService",
	"RegisterContainerInstance", "UpdateContainerInstancesState", "DeregisterContainerInstance", "RunTask (EC2)", "StopTask (EC2)"}

// CrashReport is what a campaign did and found.
type CrashReport struct {
	Kills    int
	Restarts int // including the final clean restart
	Acked    map[string]int
	Unknown  map[string]int            // no answer: in flight at a kill
	Rejected map[string]map[string]int // kind -> ECS error code -> count
	// Verifications is how many full checks ran (after each restart and
	// after the final clean restart); Assertions how many individual
	// facts they confirmed.
	Verifications int
	Assertions    int
	// Found at the end.
	Revisions, Tasks, Services int
	// Resolved counts writes whose outcome was unknown and that a
	// verification found committed (the rest were found absent).
	ResolvedCommitted int
	MaxConverge       time.Duration
	// The EC2 books (crash_ec2.go): instance checks made over all
	// verifications, the tasks found on the instances, the assertions
	// about their resources, and the smallest and largest size of the
	// capacity provider's group seen at a verification.
	InstanceChecks, TasksOnInstances, ResourceAssertions int
	GroupMin, GroupMax                                   int
	Failures                                             []string
}

func (r *CrashReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kills (SIGKILL under load): %d\nrestarts: %d\n", r.Kills, r.Restarts)
	fmt.Fprintf(&b, "%-30s %8s %8s %8s  %s\n", "operation", "acked", "unknown", "rejected", "rejections by code")
	for _, k := range crashKinds {
		rej, codes := 0, []string{}
		for code, n := range r.Rejected[k] {
			rej += n
			codes = append(codes, fmt.Sprintf("%s=%d", code, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(&b, "%-30s %8d %8d %8d  %s\n", k, r.Acked[k], r.Unknown[k], rej, strings.Join(codes, " "))
	}
	fmt.Fprintf(&b, "unknown outcomes found committed after restart: %d\n", r.ResolvedCommitted)
	fmt.Fprintf(&b, "at the end: %d task-definition revisions, %d tasks, %d services\n", r.Revisions, r.Tasks, r.Services)
	fmt.Fprintf(&b, "verifications: %d, assertions held: %d, failures: %d\n", r.Verifications, r.Assertions, len(r.Failures))
	fmt.Fprintf(&b, "slowest convergence after a restart: %s\n", r.MaxConverge.Round(time.Millisecond))
	fmt.Fprintf(&b, "container instance books checked: %d (holding %d tasks), resource assertions held: %d\n",
		r.InstanceChecks, r.TasksOnInstances, r.ResourceAssertions)
	fmt.Fprintf(&b, "capacity provider group size seen at verifications: %d..%d instances\n", r.GroupMin, r.GroupMax)
	return b.String()
}

// Families whose revisions the load registers and deregisters; none is a
// prefix of another, so ListTaskDefinitions' familyPrefix finds exactly one.
var churnFamilies = []string{"crash_alpha", "crash_bravo"}

const (
	crashCluster   = "crash"
	serviceFamily  = "crash_service"
	serviceSlots   = 6 // one sequential updater per slot
	maxDesired     = 3
	maxLiveTasks   = 24 // standalone tasks RunTask keeps at most
	registrarsPerF = 2  // concurrent registrations per family
)

var netConf = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-crash"}}}

// The campaign's model of what the server must hold. Writes with an unknown
// outcome are "maybe"s until a verification resolves them (found or
// absent): once resolved absent they may never appear, because the process
// that might have committed them is dead.
type family struct {
	name     string
	maybe    map[string]bool // markers of registrations not yet seen nor acknowledged-and-seen
	acked    map[int]string  // acknowledged revision -> marker
	seen     map[int]string  // every revision a verification has seen -> its marker
	markers  map[string]int  // marker -> revision, for seen revisions
	dereg    map[int]bool    // acknowledged deregistrations
	inactive map[int]bool    // seen INACTIVE (never becomes ACTIVE again)
}

type runCall struct {
	family string
	count  int
	acked  bool
	arns   []string // the acknowledged answer
}

type service struct {
	name     string
	acked    bool           // CreateService acknowledged or the service seen
	possible map[int32]bool // desiredCount values the service may hold
}

type crash struct {
	cfg    CrashConfig
	rng    *rand.Rand
	rngMu  sync.Mutex
	report *CrashReport

	mu       sync.Mutex
	seq      int
	families map[string]*family
	runs     map[string]*runCall // startedBy marker -> call
	tasks    map[string]string   // every task known (acknowledged or seen) -> its startedBy
	stopped  map[string]bool     // acknowledged StopTask
	live     []string            // acknowledged standalone tasks not yet asked to stop
	services map[string]*service
	slots    [serviceSlots]string // service each slot updates
	final    map[string]bool      // tasks seen STOPPED/STOPPED: nothing changes them again
	ec2      *ec2Model
}

// RunCrash runs the campaign: setup, then Kills rounds of load + SIGKILL +
// restart + verification, then a clean restart and a last verification.
// It returns the report and an error if any check failed.
func RunCrash(ctx context.Context, cfg CrashConfig) (*CrashReport, error) {
	if cfg.MaxUptime <= cfg.MinUptime {
		cfg.MaxUptime = cfg.MinUptime + 1500*time.Millisecond
	}
	if cfg.Converge <= 0 {
		cfg.Converge = 60 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	c := &crash{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		report: &CrashReport{Acked: map[string]int{}, Unknown: map[string]int{},
			Rejected: map[string]map[string]int{}},
		families: map[string]*family{},
		runs:     map[string]*runCall{},
		tasks:    map[string]string{},
		stopped:  map[string]bool{},
		services: map[string]*service{},
		final:    map[string]bool{},
		ec2:      newEC2Model(),
	}
	for _, f := range churnFamilies {
		c.families[f] = &family{name: f, maybe: map[string]bool{}, acked: map[int]string{}, seen: map[int]string{},
			markers: map[string]int{}, dereg: map[int]bool{}, inactive: map[int]bool{}}
	}
	err := c.run(ctx)
	if err == nil && len(c.report.Failures) > 0 {
		err = fmt.Errorf("%d checks failed; first: %s", len(c.report.Failures), c.report.Failures[0])
	}
	return c.report, err
}

func (c *crash) intn(n int) int {
	c.rngMu.Lock()
	defer c.rngMu.Unlock()
	return c.rng.IntN(n)
}

func (c *crash) failf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.report.Failures) < 1000 {
		c.report.Failures = append(c.report.Failures, fmt.Sprintf(format, args...))
	}
}

func (c *crash) held(n int) {
	c.mu.Lock()
	c.report.Assertions += n
	c.mu.Unlock()
}

func (c *crash) marker(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return fmt.Sprintf("%s-%d", prefix, c.seq)
}

func (c *crash) run(ctx context.Context) error {
	dataDir := filepath.Join(c.cfg.WorkDir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	runs := 0
	start := func() (*Process, error) {
		runs++
		return StartProcess(ctx, c.cfg.Binary, filepath.Join(c.cfg.WorkDir, fmt.Sprintf("ecsd-%02d.log", runs)),
			append([]string{"--data-dir", dataDir, "--service-healthy-after", "0s"}, ec2Flags...)...) // converge needs no 40s wait
	}
	p, err := start()
	if err != nil {
		return err
	}
	defer func() {
		if !p.Exited() {
			p.Kill()
		}
	}()
	if err := c.setup(ctx, newClient(p.URL)); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	for round := 1; round <= c.cfg.Kills; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		uptime := c.cfg.MinUptime + time.Duration(c.intn(int(c.cfg.MaxUptime-c.cfg.MinUptime)))
		c.load(ctx, p, uptime) // returns after the SIGKILL, with every worker parked
		c.report.Kills++
		c.checkLog(p)
		if c.cfg.AfterKillFunc != nil {
			if err := c.cfg.AfterKillFunc(round, dataDir); err != nil {
				return fmt.Errorf("after kill %d: %w", round, err)
			}
		}
		if p, err = start(); err != nil {
			return fmt.Errorf("restart after kill %d: %w", round, err)
		}
		c.report.Restarts++
		took := c.verify(ctx, newClient(p.URL))
		fmt.Fprintf(c.cfg.Progress, "kill %d/%d after %s of load: restarted, verified, converged in %s (%d failures so far)\n",
			round, c.cfg.Kills, uptime.Round(time.Millisecond), took.Round(time.Millisecond), len(c.report.Failures))
		if len(c.report.Failures) > 0 {
			break
		}
	}
	// A clean stop and start must find the same state again.
	if err := p.Terminate(30 * time.Second); err != nil {
		c.failf("graceful shutdown: %v", err)
	}
	c.checkLog(p)
	if p, err = start(); err != nil {
		return fmt.Errorf("clean restart: %w", err)
	}
	c.report.Restarts++
	c.verify(ctx, newClient(p.URL))
	c.totals(ctx, newClient(p.URL))
	if err := p.Terminate(30 * time.Second); err != nil {
		c.failf("final graceful shutdown: %v", err)
	}
	c.checkLog(p)
	return nil
}

func (c *crash) checkLog(p *Process) {
	lines, err := PanicLines(p.LogPath)
	if err != nil {
		c.failf("reading %s: %v", p.LogPath, err)
		return
	}
	for _, l := range lines {
		c.failf("panic in %s: %s", p.LogPath, l)
	}
	c.held(1)
}

// setup creates the cluster and the services' task definition, retrying
// until acknowledged (both are idempotent to check).
func (c *crash) setup(ctx context.Context, cl *ecs.Client) error {
	if _, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(crashCluster)}); err != nil {
		return err
	}
	if _, err := cl.RegisterTaskDefinition(ctx, taskDef(serviceFamily, "service")); err != nil {
		return err
	}
	return c.setupEC2(ctx, cl)
}

func taskDef(family, marker string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox:1.36"),
			Environment: []types.KeyValuePair{{Name: aws.String("CRASH_MARKER"), Value: aws.String(marker)}},
		}},
	}
}

func markerOf(td *types.TaskDefinition) string {
	for _, cd := range td.ContainerDefinitions {
		for _, kv := range cd.Environment {
			if aws.ToString(kv.Name) == "CRASH_MARKER" {
				return aws.ToString(kv.Value)
			}
		}
	}
	return ""
}

// tally records one call's outcome and reports whether the worker should
// go on (false once the server is gone).
func (c *crash) tally(ctx context.Context, kind string, err error) (result, bool) {
	res, code := classify(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch res {
	case acked:
		c.report.Acked[kind]++
	case rejected:
		if c.report.Rejected[kind] == nil {
			c.report.Rejected[kind] = map[string]int{}
		}
		c.report.Rejected[kind][code]++
	case unknown:
		c.report.Unknown[kind]++
		return res, false
	case fault:
		if len(c.report.Failures) < 1000 {
			c.report.Failures = append(c.report.Failures, fmt.Sprintf("%s answered a server fault %s: %v", kind, code, err))
		}
	}
	return res, !isCanceled(ctx)
}

// load runs every worker against p, kills p with SIGKILL after uptime and
// returns once every worker has stopped.
func (c *crash) load(ctx context.Context, p *Process, uptime time.Duration) {
	cl := newClient(p.URL)
	loadCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	spawn := func(f func(context.Context, *ecs.Client)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(loadCtx, cl) }()
	}
	for _, f := range churnFamilies {
		for range registrarsPerF {
			spawn(func(ctx context.Context, cl *ecs.Client) { c.registrar(ctx, cl, f) })
		}
	}
	spawn(c.deregistrar)
	spawn(c.runner)
	spawn(c.runner)
	spawn(c.stopper)
	spawn(c.instancer)
	spawn(c.ec2Runner)
	for slot := range serviceSlots {
		// Now and then a slot moves on to a new service, so CreateService
		// runs under kills too, not only at the start.
		if c.slots[slot] != "" && c.intn(4) == 0 {
			c.slots[slot] = ""
		}
		spawn(func(ctx context.Context, cl *ecs.Client) { c.slot(ctx, cl, slot) })
	}
	select {
	case <-time.After(uptime):
	case <-ctx.Done():
	}
	// Kill first, then stop the workers: a call in flight at the kill must
	// meet a dead server, not a cancelled context.
	p.Kill()
	cancel()
	wg.Wait()
}

// pause spaces one worker's calls a little, so that the tasks and
// revisions the campaign creates stay in the thousands.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *crash) registrar(ctx context.Context, cl *ecs.Client, fam string) {
	for pause(ctx, 5*time.Millisecond) {
		m := c.marker(fam)
		f := c.families[fam]
		c.mu.Lock()
		f.maybe[m] = true
		c.mu.Unlock()
		out, err := cl.RegisterTaskDefinition(ctx, taskDef(fam, m))
		res, more := c.tally(ctx, "RegisterTaskDefinition", err)
		if res == acked {
			rev := int(out.TaskDefinition.Revision)
			c.mu.Lock()
			if prev, dup := f.acked[rev]; dup {
				c.report.Failures = append(c.report.Failures,
					fmt.Sprintf("%s:%d acknowledged twice (markers %s and %s)", fam, rev, prev, m))
			}
			f.acked[rev] = m
			c.mu.Unlock()
			if got := markerOf(out.TaskDefinition); got != m {
				c.failf("RegisterTaskDefinition %s answered marker %q, sent %q", fam, got, m)
			}
		}
		if !more {
			return
		}
	}
}

func (c *crash) deregistrar(ctx context.Context, cl *ecs.Client) {
	for pause(ctx, 10*time.Millisecond) {
		fam := churnFamilies[c.intn(len(churnFamilies))]
		f := c.families[fam]
		c.mu.Lock()
		var cands []int
		for rev := range f.acked {
			if !f.dereg[rev] && !f.inactive[rev] {
				cands = append(cands, rev)
			}
		}
		c.mu.Unlock()
		if len(cands) < 3 { // leave some ACTIVE for RunTask
			continue
		}
		slices.Sort(cands)
		rev := cands[c.intn(len(cands)-2)]
		_, err := cl.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("%s:%d", fam, rev))})
		res, more := c.tally(ctx, "DeregisterTaskDefinition", err)
		if res == acked {
			c.mu.Lock()
			f.dereg[rev] = true
			c.mu.Unlock()
		}
		if !more {
			return
		}
	}
}

func (c *crash) runner(ctx context.Context, cl *ecs.Client) {
	for pause(ctx, 5*time.Millisecond) {
		fam := churnFamilies[c.intn(len(churnFamilies))]
		f := c.families[fam]
		c.mu.Lock()
		live := len(c.live)
		rev := 0
		for r := range f.acked {
			if r > rev && !f.dereg[r] && !f.inactive[r] {
				rev = r
			}
		}
		c.mu.Unlock()
		if live >= maxLiveTasks || rev == 0 {
			continue
		}
		m := c.marker("run")
		call := &runCall{family: fam, count: 1 + c.intn(2)}
		c.mu.Lock()
		c.runs[m] = call
		c.mu.Unlock()
		out, err := cl.RunTask(ctx, &ecs.RunTaskInput{
			Cluster: aws.String(crashCluster), TaskDefinition: aws.String(fmt.Sprintf("%s:%d", fam, rev)),
			Count: aws.Int32(int32(call.count)), StartedBy: aws.String(m), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: netConf,
		})
		res, more := c.tally(ctx, "RunTask", err)
		switch res {
		case acked:
			if len(out.Failures) > 0 || len(out.Tasks) != call.count {
				c.failf("RunTask %s count %d: %d tasks, failures %v", m, call.count, len(out.Tasks), out.Failures)
			}
			c.mu.Lock()
			call.acked = true
			for _, t := range out.Tasks {
				arn := aws.ToString(t.TaskArn)
				call.arns = append(call.arns, arn)
				c.tasks[arn] = m
				c.live = append(c.live, arn)
			}
			c.mu.Unlock()
		case rejected:
			c.mu.Lock()
			delete(c.runs, m) // nothing was written
			c.mu.Unlock()
		}
		if !more {
			return
		}
	}
}

func (c *crash) stopper(ctx context.Context, cl *ecs.Client) {
	for pause(ctx, 8*time.Millisecond) {
		c.mu.Lock()
		if len(c.live) == 0 {
			c.mu.Unlock()
			continue
		}
		i := c.intn(len(c.live))
		arn := c.live[i]
		c.live = slices.Delete(c.live, i, i+1)
		c.mu.Unlock()
		_, err := cl.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(crashCluster), Task: aws.String(arn), Reason: aws.String("crash campaign")})
		res, more := c.tally(ctx, "StopTask", err)
		if res == acked {
			c.mu.Lock()
			c.stopped[arn] = true
			c.mu.Unlock()
		}
		if !more {
			return
		}
	}
}

// slot creates its service if it has none, then moves its desiredCount.
// One goroutine per service, so its writes have one order.
func (c *crash) slot(ctx context.Context, cl *ecs.Client, slot int) {
	for pause(ctx, 10*time.Millisecond) {
		c.mu.Lock()
		name := c.slots[slot]
		svc := c.services[name]
		c.mu.Unlock()
		desired := int32(c.intn(maxDesired + 1))
		if svc == nil {
			name = c.marker(fmt.Sprintf("svc%d", slot))
			svc = &service{name: name, possible: map[int32]bool{desired: true}}
			c.mu.Lock()
			c.services[name] = svc
			c.slots[slot] = name
			c.mu.Unlock()
			_, err := cl.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster: aws.String(crashCluster), ServiceName: aws.String(name), TaskDefinition: aws.String(serviceFamily + ":1"),
				DesiredCount: aws.Int32(desired), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf,
			})
			res, more := c.tally(ctx, "CreateService", err)
			c.mu.Lock()
			switch res {
			case acked:
				svc.acked = true
			case rejected:
				delete(c.services, name)
				c.slots[slot] = ""
			}
			c.mu.Unlock()
			if !more {
				return
			}
			continue
		}
		if !svc.acked {
			return // its creation is unknown until the next verification
		}
		_, err := cl.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(crashCluster), Service: aws.String(name), DesiredCount: aws.Int32(desired)})
		res, more := c.tally(ctx, "UpdateService", err)
		c.mu.Lock()
		switch res {
		case acked:
			svc.possible = map[int32]bool{desired: true}
		case unknown:
			svc.possible[desired] = true
		}
		c.mu.Unlock()
		if !more {
			return
		}
	}
}

// verify checks the restarted server against the model, resolves every
// unknown outcome, and waits for services and tasks to converge. It
// returns how long convergence took.
func (c *crash) verify(ctx context.Context, cl *ecs.Client) time.Duration {
	c.report.Verifications++
	vctx, cancel := context.WithTimeout(ctx, c.cfg.Converge+2*time.Minute)
	defer cancel()
	for _, f := range churnFamilies {
		c.verifyFamily(vctx, cl, c.families[f])
	}
	c.verifyTasks(vctx, cl)
	c.verifyServices(vctx, cl)
	start := time.Now()
	c.converge(vctx, cl)
	took := time.Since(start)
	c.report.MaxConverge = max(c.report.MaxConverge, took)
	c.verifyEC2(vctx, cl)
	c.mu.Lock()
	m := c.ec2
	c.report.InstanceChecks, c.report.TasksOnInstances, c.report.ResourceAssertions = m.instanceChecks, m.tasksOnInstances, m.resourceAssertions
	c.report.GroupMin, c.report.GroupMax = m.asgMin, m.asgMax
	c.mu.Unlock()
	return took
}

// listRevisions returns every revision of fam with its status.
func listRevisions(ctx context.Context, cl *ecs.Client, fam string) (map[int]types.TaskDefinitionStatus, error) {
	out := map[int]types.TaskDefinitionStatus{}
	for _, st := range []types.TaskDefinitionStatus{types.TaskDefinitionStatusActive, types.TaskDefinitionStatusInactive, types.TaskDefinitionStatusDeleteInProgress} {
		p := ecs.NewListTaskDefinitionsPaginator(cl, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(fam), Status: st, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, arn := range page.TaskDefinitionArns {
				name := arn[strings.LastIndex(arn, "/")+1:]
				f, r, _ := strings.Cut(name, ":")
				rev, err := strconv.Atoi(r)
				if err != nil || f != fam {
					return nil, fmt.Errorf("ListTaskDefinitions(%s) listed %s", fam, arn)
				}
				if prev, dup := out[rev]; dup {
					return nil, fmt.Errorf("%s:%d listed twice (%s and %s)", fam, rev, prev, st)
				}
				out[rev] = st
			}
		}
	}
	return out, nil
}

func (c *crash) verifyFamily(ctx context.Context, cl *ecs.Client, f *family) {
	revs, err := listRevisions(ctx, cl, f.name)
	if err != nil {
		c.failf("listing %s: %v", f.name, err)
		return
	}
	n := 0
	for rev := range revs {
		n = max(n, rev)
	}
	// Read the body of each revision not seen before (bodies never
	// change), and a sample of old ones in case one did.
	var toRead []int
	c.mu.Lock()
	for rev := range revs {
		if _, seen := f.seen[rev]; !seen {
			toRead = append(toRead, rev)
		}
	}
	sample := len(f.seen) > 0
	c.mu.Unlock()
	if sample {
		for range 20 {
			toRead = append(toRead, 1+c.intn(n))
		}
	}
	bodies := map[int]string{}
	for _, rev := range toRead {
		out, err := cl.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("%s:%d", f.name, rev))})
		if err != nil {
			c.failf("DescribeTaskDefinition %s:%d: %v", f.name, rev, err)
			return
		}
		bodies[rev] = markerOf(out.TaskDefinition)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	fail := func(format string, args ...any) {
		c.report.Failures = append(c.report.Failures, fmt.Sprintf(format, args...))
	}
	ok := 0
	// Gapless: 1..N, nothing skipped (nothing here is ever purged).
	if len(revs) != n {
		missing := []int{}
		for r := 1; r <= n; r++ {
			if _, ok := revs[r]; !ok {
				missing = append(missing, r)
			}
		}
		fail("%s: %d revisions listed, highest %d: missing %v", f.name, len(revs), n, missing)
	} else {
		ok++
	}
	for rev, m := range f.acked {
		if _, present := revs[rev]; !present {
			fail("%s:%d was acknowledged (marker %s) and is gone", f.name, rev, m)
		} else {
			ok++
		}
	}
	for rev := range f.seen {
		if _, present := revs[rev]; !present {
			fail("%s:%d was seen at an earlier verification and is gone", f.name, rev)
		}
	}
	for rev, m := range bodies {
		if old, seen := f.seen[rev]; seen {
			if old != m {
				fail("%s:%d changed body: marker %s, earlier %s", f.name, rev, m, old)
			} else {
				ok++
			}
			continue
		}
		if other, dup := f.markers[m]; dup {
			fail("%s:%d and %s:%d hold the same registration (marker %q): registered twice", f.name, rev, f.name, other, m)
			continue
		}
		am, isAcked := f.acked[rev]
		switch {
		case isAcked && am != m:
			fail("%s:%d holds marker %q, but the acknowledged call registered %q", f.name, rev, m, am)
			continue
		case !isAcked && !f.maybe[m]:
			fail("%s:%d holds marker %q, which no call in flight at a kill registered (a phantom or resurrected write)", f.name, rev, m)
			continue
		case !isAcked:
			c.report.ResolvedCommitted++
		}
		ok++
		f.seen[rev], f.markers[m] = m, rev
	}
	// Every unknown registration is now resolved: found, or lost for good.
	clear(f.maybe)
	for rev, st := range revs {
		switch {
		case f.dereg[rev] && st != types.TaskDefinitionStatusInactive:
			fail("%s:%d: deregistration was acknowledged but status is %s", f.name, rev, st)
		case f.inactive[rev] && st != types.TaskDefinitionStatusInactive:
			fail("%s:%d was INACTIVE and is now %s", f.name, rev, st)
		default:
			ok++
		}
		if st == types.TaskDefinitionStatusInactive {
			f.inactive[rev] = true
		}
	}
	c.report.Assertions += ok
}

// listTasks lists every task of the cluster with one of the desired
// statuses. One status's pages must not repeat a task; across statuses a
// task may appear twice, since the scheduler keeps working between the
// listings (a task asked to stop after the RUNNING listing shows up again in
// the STOPPED one), and is returned once.
func listTasks(ctx context.Context, cl *ecs.Client, statuses ...types.DesiredStatus) ([]string, error) {
	var arns []string
	seen := map[string]bool{}
	for _, st := range statuses {
		mine := map[string]bool{}
		p := ecs.NewListTasksPaginator(cl, &ecs.ListTasksInput{Cluster: aws.String(crashCluster), DesiredStatus: st, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, arn := range page.TaskArns {
				if mine[arn] {
					return nil, fmt.Errorf("ListTasks(desiredStatus %s) listed %s twice", st, arn)
				}
				mine[arn] = true
				if !seen[arn] {
					seen[arn] = true
					arns = append(arns, arn)
				}
			}
		}
	}
	return arns, nil
}

var allDesired = []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusPending, types.DesiredStatusStopped}

func describeTasks(ctx context.Context, cl *ecs.Client, arns []string) (map[string]types.Task, error) {
	out := map[string]types.Task{}
	for chunk := range slices.Chunk(arns, 100) {
		d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(crashCluster), Tasks: chunk})
		if err != nil {
			return nil, err
		}
		if len(d.Failures) > 0 {
			return nil, fmt.Errorf("DescribeTasks of listed tasks failed: %+v", d.Failures[0])
		}
		for _, t := range d.Tasks {
			out[aws.ToString(t.TaskArn)] = t
		}
	}
	return out, nil
}

// listed is one kind of resource as verifyListed reads it back.
type listed[T any] struct {
	list, describe string // the API calls, as failures name them
	listFunc       func(context.Context, *ecs.Client) ([]string, error)
	describeFunc   func(context.Context, *ecs.Client, []string) (map[string]T, error)
	twice          string // the failure when the listing repeats one: listed, distinct
}

// verifyListed is the skeleton the verifiers share: list every resource of
// the kind, describe what was listed, fail if the listing repeated one, and
// hand the descriptions to check under c.mu. check reports each broken
// invariant through fail and returns how many assertions held.
func verifyListed[T any](ctx context.Context, c *crash, cl *ecs.Client, kind listed[T], check func(got map[string]T, fail func(format string, args ...any)) (ok int)) {
	arns, err := kind.listFunc(ctx, cl)
	if err != nil {
		c.failf("%s: %v", kind.list, err)
		return
	}
	got, err := kind.describeFunc(ctx, cl, arns)
	if err != nil {
		c.failf("%s: %v", kind.describe, err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fail := func(format string, args ...any) {
		c.report.Failures = append(c.report.Failures, fmt.Sprintf(format, args...))
	}
	ok := 0
	if len(got) != len(arns) {
		fail(kind.twice, len(arns), len(got))
	} else {
		ok++
	}
	ok += check(got, fail)
	c.report.Assertions += ok
}

func (c *crash) verifyTasks(ctx context.Context, cl *ecs.Client) {
	verifyListed(ctx, c, cl, listed[types.Task]{
		list: "ListTasks", describe: "DescribeTasks",
		listFunc: func(ctx context.Context, cl *ecs.Client) ([]string, error) {
			return listTasks(ctx, cl, allDesired...)
		},
		describeFunc: describeTasks,
		twice:        "ListTasks listed %d tasks, %d distinct: a task is listed twice",
	}, c.checkTasksLocked)
}

// checkTasksLocked checks the cluster's tasks against the RunTask and
// StopTask calls made, and resolves the RunTask calls of unknown outcome.
func (c *crash) checkTasksLocked(tasks map[string]types.Task, fail func(format string, args ...any)) (ok int) {
	byMarker := map[string][]string{}
	for arn, t := range tasks {
		if strings.HasPrefix(aws.ToString(t.Group), "service:") {
			continue
		}
		m := aws.ToString(t.StartedBy)
		byMarker[m] = append(byMarker[m], arn)
	}
	for arn, m := range c.tasks {
		if _, present := tasks[arn]; !present {
			fail("task %s (RunTask %s) was acknowledged or seen and is gone", arn, m)
		} else {
			ok++
		}
	}
	for m, got := range byMarker {
		call, attempted := c.runs[m]
		switch {
		case !attempted:
			fail("tasks %v carry startedBy %q, which no RunTask in flight or acknowledged sent (phantom or resurrected)", got, m)
		case len(got) != call.count:
			fail("RunTask %s (count %d) left %d tasks: %v", m, call.count, len(got), got)
		case call.acked && !sameSet(got, call.arns):
			fail("RunTask %s was acknowledged with %v, the cluster holds %v", m, call.arns, got)
		default:
			ok++
			if !call.acked {
				c.report.ResolvedCommitted++
				call.acked, call.arns = true, got
				for _, arn := range got {
					c.tasks[arn] = m
					if aws.ToString(tasks[arn].DesiredStatus) == "RUNNING" {
						c.live = append(c.live, arn)
					}
				}
			}
		}
	}
	// RunTask calls whose outcome was unknown and that left nothing are
	// resolved as lost: their marker may never appear.
	for m, call := range c.runs {
		if !call.acked {
			delete(c.runs, m)
		} else if len(byMarker[m]) == 0 {
			fail("RunTask %s was acknowledged with %v and left no task", m, call.arns)
		}
	}
	for arn := range c.stopped {
		if t, present := tasks[arn]; present && aws.ToString(t.DesiredStatus) != "STOPPED" {
			fail("StopTask %s was acknowledged, desiredStatus is %s", arn, aws.ToString(t.DesiredStatus))
		} else {
			ok++
		}
	}
	// A StopTask in flight at a kill may have committed: drop such tasks
	// from the stopper's candidates so it does not count a no-op stop.
	c.live = slices.DeleteFunc(c.live, func(arn string) bool {
		return aws.ToString(tasks[arn].DesiredStatus) == "STOPPED"
	})
	return ok
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func listServices(ctx context.Context, cl *ecs.Client) ([]string, error) {
	var arns []string
	p := ecs.NewListServicesPaginator(cl, &ecs.ListServicesInput{Cluster: aws.String(crashCluster), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		arns = append(arns, page.ServiceArns...)
	}
	return arns, nil
}

func describeServices(ctx context.Context, cl *ecs.Client, arns []string) (map[string]types.Service, error) {
	out := map[string]types.Service{}
	for chunk := range slices.Chunk(arns, 10) {
		d, err := cl.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(crashCluster), Services: chunk})
		if err != nil {
			return nil, err
		}
		if len(d.Failures) > 0 {
			return nil, fmt.Errorf("DescribeServices of listed services failed: %+v", d.Failures[0])
		}
		for _, s := range d.Services {
			out[aws.ToString(s.ServiceName)] = s
		}
	}
	return out, nil
}

func (c *crash) verifyServices(ctx context.Context, cl *ecs.Client) {
	verifyListed(ctx, c, cl, listed[types.Service]{
		list: "ListServices", describe: "DescribeServices",
		listFunc: listServices, describeFunc: describeServices,
		twice: "ListServices listed %d services, %d distinct",
	}, c.checkServicesLocked)
}

// checkServicesLocked checks the cluster's services against the
// CreateService and UpdateService calls made, and forgets the creations
// the crash lost.
func (c *crash) checkServicesLocked(svcs map[string]types.Service, fail func(format string, args ...any)) (ok int) {
	for name, s := range svcs {
		m, known := c.services[name]
		switch {
		case !known:
			fail("service %s exists but no CreateService in flight or acknowledged created it", name)
		case aws.ToString(s.Status) != "ACTIVE":
			fail("service %s is %s", name, aws.ToString(s.Status))
		case !m.possible[s.DesiredCount]:
			fail("service %s has desiredCount %d; the acknowledged (or in-flight) writes allow only %v", name, s.DesiredCount, keys(m.possible))
		default:
			ok++
			if !m.acked {
				c.report.ResolvedCommitted++
			}
			m.acked = true
			m.possible = map[int32]bool{s.DesiredCount: true}
		}
	}
	for name, m := range c.services {
		if _, present := svcs[name]; present {
			continue
		}
		if m.acked {
			fail("service %s was acknowledged and is gone", name)
			continue
		}
		delete(c.services, name) // its creation was lost with the process
		for i := range c.slots {
			if c.slots[i] == name {
				c.slots[i] = ""
			}
		}
	}
	return ok
}

func keys[K comparable, V any](m map[K]V) []K {
	var out []K
	for k := range m {
		out = append(out, k)
	}
	return out
}

// converge waits until every service is stable by the services-stable
// waiter's rule (one deployment, runningCount == desiredCount) and, task by
// task, the cluster holds exactly desiredCount RUNNING tasks per service and
// every task has reached its desired status.
func (c *crash) converge(ctx context.Context, cl *ecs.Client) {
	deadline := time.Now().Add(c.cfg.Converge)
	var why string
	for {
		why = c.settled(ctx, cl)
		if why == "" {
			c.held(1)
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.failf("not converged within %s: %s", c.cfg.Converge, why)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// settled returns "" when everything has converged, or what has not.
func (c *crash) settled(ctx context.Context, cl *ecs.Client) string {
	arns, err := listServices(ctx, cl)
	if err != nil {
		return fmt.Sprintf("ListServices: %v", err)
	}
	svcs, err := describeServices(ctx, cl, arns)
	if err != nil {
		return fmt.Sprintf("DescribeServices: %v", err)
	}
	for name, s := range svcs {
		if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount || s.PendingCount != 0 {
			return fmt.Sprintf("service %s: %d deployments, desired %d, running %d, pending %d",
				name, len(s.Deployments), s.DesiredCount, s.RunningCount, s.PendingCount)
		}
	}
	running, err := listTasks(ctx, cl, types.DesiredStatusRunning, types.DesiredStatusPending)
	if err != nil {
		return fmt.Sprintf("ListTasks: %v", err)
	}
	stopped, err := listTasks(ctx, cl, types.DesiredStatusStopped)
	if err != nil {
		return fmt.Sprintf("ListTasks: %v", err)
	}
	c.mu.Lock()
	toDescribe := slices.Clone(running)
	for _, arn := range stopped {
		if !c.final[arn] {
			toDescribe = append(toDescribe, arn)
		}
	}
	c.mu.Unlock()
	tasks, err := describeTasks(ctx, cl, toDescribe)
	if err != nil {
		return fmt.Sprintf("DescribeTasks: %v", err)
	}
	perService := map[string]int{}
	for arn, t := range tasks {
		desired, last := aws.ToString(t.DesiredStatus), aws.ToString(t.LastStatus)
		if desired != last {
			return fmt.Sprintf("task %s: desired %s, last %s", arn, desired, last)
		}
		if last == "STOPPED" {
			c.mu.Lock()
			c.final[arn] = true
			c.mu.Unlock()
			continue
		}
		if g, ok := strings.CutPrefix(aws.ToString(t.Group), "service:"); ok {
			perService[g]++
		}
	}
	for name, s := range svcs {
		if perService[name] != int(s.DesiredCount) {
			return fmt.Sprintf("service %s: desiredCount %d but %d RUNNING tasks", name, s.DesiredCount, perService[name])
		}
	}
	return ""
}

// totals fills the report's end-state counts.
func (c *crash) totals(ctx context.Context, cl *ecs.Client) {
	for _, f := range churnFamilies {
		revs, err := listRevisions(ctx, cl, f)
		if err != nil {
			c.failf("listing %s: %v", f, err)
		}
		c.report.Revisions += len(revs)
	}
	arns, err := listTasks(ctx, cl, allDesired...)
	if err != nil {
		c.failf("ListTasks: %v", err)
	}
	c.report.Tasks = len(arns)
	svcs, err := listServices(ctx, cl)
	if err != nil {
		c.failf("ListServices: %v", err)
	}
	c.report.Services = len(svcs)
}
