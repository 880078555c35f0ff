package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FailoverConfig is one failover campaign: PostgreSQL and Replicas ecsd
// replicas in containers on this machine's Docker Engine, the crash
// campaign's load spread over every replica, then two faults: the replica
// holding the leader lease is SIGKILLed (docker kill), and later the one
// holding it then is cut from the database (docker network disconnect)
// and reconnected. After each fault the same checks as the crash
// campaign's run through a survivor.
type FailoverConfig struct {
	// ECSDImage is an image of ecsd (deploy/docker/build-image.sh);
	// PostgresImage one of PostgreSQL whose entrypoint initialises an
	// empty data directory with trust authentication when no
	// POSTGRES_PASSWORD is set (deploy/compose/build-postgres-image.sh).
	ECSDImage, PostgresImage string
	// Replicas is how many ecsd containers share the database (default 3).
	Replicas int
	// Load is how long the load runs before each fault, and again after
	// it before the load stops for the checks (default 3s).
	Load time.Duration
	// Converge is the deadline for services and tasks to settle after a
	// fault (default 60s); Takeover the deadline for another replica to
	// take the lease (default 60s).
	Converge, Takeover time.Duration
	Seed               uint64
	// WorkDir receives each container's log at the end.
	WorkDir  string
	Progress io.Writer // one line per step; nil: quiet
}

// FailoverReport is what a failover campaign did, measured and found.
type FailoverReport struct {
	*CrashReport
	Replicas int
	// KillTakeover: from the leader's SIGKILL until another replica
	// reported holding the lease (its /health). KillFirstTask: from the
	// SIGKILL until a task RunTask asked for through a survivor right
	// after it was RUNNING.
	KillTakeover, KillFirstTask time.Duration
	// CutStepDown: from the leader's cut until it reported no longer
	// leading; CutTakeover: until another replica reported leading;
	// CutFirstTask as KillFirstTask; CutRecovered: from the reconnection
	// until the cut replica's /ready answered 200 again.
	CutStepDown, CutTakeover, CutFirstTask, CutRecovered time.Duration
	// CutServerExceptions counts the ServerException answers the cut
	// replica gave while cut (each counted as an unknown outcome).
	CutServerExceptions int
}

func (r *FailoverReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replicas: %d (one SIGKILLed and restarted, one cut from the database and reconnected)\n", r.Replicas)
	b.WriteString(r.CrashReport.String())
	fmt.Fprintf(&b, "SIGKILL of the leader: another replica leads after %s; a task run through a survivor RUNNING %s after the kill\n",
		r.KillTakeover.Round(time.Millisecond), r.KillFirstTask.Round(time.Millisecond))
	fmt.Fprintf(&b, "leader cut from the database: it stepped down after %s, another leads after %s; a task run through a survivor RUNNING %s after the cut\n",
		r.CutStepDown.Round(time.Millisecond), r.CutTakeover.Round(time.Millisecond), r.CutFirstTask.Round(time.Millisecond))
	fmt.Fprintf(&b, "the cut replica answered ServerException %d times while cut, and was ready again %s after the reconnection\n",
		r.CutServerExceptions, r.CutRecovered.Round(time.Millisecond))
	return b.String()
}

// FailoverLabel is the label on every container and network a failover
// campaign creates; its value is the run's id.
const FailoverLabel = "ecsd.failover"

const probeCluster = "failover-probe"

// fleet is the campaign's containers and networks.
type fleet struct {
	run      string // FailoverLabel's value, and the names' prefix
	dbNet    string // PostgreSQL and the replicas; internal (no route out)
	apiNet   string // the replicas, published on 127.0.0.1
	pg       string
	replicas []*replica
	progress io.Writer
}

type replica struct {
	name string
	url  string
	cl   *ecs.Client
}

// docker runs the docker CLI and returns its trimmed output.
func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// RemoveFailoverResources removes every container (with its volumes) and
// network labelled with FailoverLabel=run.
func RemoveFailoverResources(ctx context.Context, run string) error {
	filter := "label=" + FailoverLabel + "=" + run
	var errs []error
	if ids, err := docker(ctx, "ps", "-aq", "--filter", filter); err != nil {
		errs = append(errs, err)
	} else if ids != "" {
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...); err != nil {
			errs = append(errs, err)
		}
	}
	if ids, err := docker(ctx, "network", "ls", "-q", "--filter", filter); err != nil {
		errs = append(errs, err)
	} else if ids != "" {
		if _, err := docker(ctx, append([]string{"network", "rm"}, strings.Fields(ids)...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunFailover runs the campaign and removes everything it created, also
// on failure. It returns the report and an error if any check failed.
func RunFailover(ctx context.Context, cfg FailoverConfig) (*FailoverReport, error) {
	if cfg.Replicas < 2 {
		cfg.Replicas = 3
	}
	if cfg.Load <= 0 {
		cfg.Load = 3 * time.Second
	}
	if cfg.Converge <= 0 {
		cfg.Converge = 60 * time.Second
	}
	if cfg.Takeover <= 0 {
		cfg.Takeover = 60 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	c := newCrash(CrashConfig{Converge: cfg.Converge, Seed: cfg.Seed, Progress: cfg.Progress})
	rep := &FailoverReport{CrashReport: c.report, Replicas: cfg.Replicas}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	f := &fleet{run: "ecsd-failover-" + hex.EncodeToString(id), progress: cfg.Progress}
	f.dbNet, f.apiNet, f.pg = f.run+"-db", f.run+"-api", f.run+"-pg"
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cfg.WorkDir != "" {
			f.saveLogs(cctx, cfg.WorkDir)
		}
		if err := RemoveFailoverResources(cctx, f.run); err != nil {
			fmt.Fprintf(cfg.Progress, "cleanup: %v\n", err)
		}
	}()
	err := f.runCampaign(ctx, c, cfg, rep)
	if err == nil && len(c.report.Failures) > 0 {
		err = fmt.Errorf("%d checks failed; first: %s", len(c.report.Failures), c.report.Failures[0])
	}
	return rep, err
}

func (f *fleet) step(format string, args ...any) {
	fmt.Fprintf(f.progress, "%s  %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (f *fleet) runCampaign(ctx context.Context, c *crash, cfg FailoverConfig, rep *FailoverReport) error {
	if err := f.start(ctx, cfg); err != nil {
		return err
	}
	if err := c.setup(ctx, f.replicas[0].cl); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if err := setupProbe(ctx, f.replicas[0].cl); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	// Fault 1: SIGKILL the leader under load.
	stop := c.startLoad(ctx, f.clients())
	if !sleep(ctx, cfg.Load) {
		stop()
		return ctx.Err()
	}
	lead, err := f.leader(ctx, -1, cfg.Takeover)
	if err != nil {
		stop()
		return err
	}
	f.step("SIGKILL %s, the leader, under load", f.replicas[lead].name)
	killed := time.Now()
	if _, err := docker(ctx, "kill", "--signal", "KILL", f.replicas[lead].name); err != nil {
		stop()
		return err
	}
	c.report.Kills++
	next, err := f.leader(ctx, lead, cfg.Takeover)
	if err != nil {
		stop()
		return fmt.Errorf("after the SIGKILL: %w", err)
	}
	rep.KillTakeover = time.Since(killed)
	f.step("%s leads, %s after the kill", f.replicas[next].name, rep.KillTakeover.Round(time.Millisecond))
	survivor := f.replicas[(lead+1)%len(f.replicas)]
	running, err := probeTask(ctx, survivor.cl, cfg.Converge)
	if err != nil {
		c.failf("after the SIGKILL, a task run through %s: %v", survivor.name, err)
	}
	rep.KillFirstTask = running.Sub(killed)
	sleep(ctx, cfg.Load)
	stop()
	took := c.verify(ctx, survivor.cl)
	f.step("verified through %s: converged in %s (%d failures so far)", survivor.name, took.Round(time.Millisecond), len(c.report.Failures))
	if len(c.report.Failures) > 0 {
		return nil
	}
	if _, err := docker(ctx, "start", f.replicas[lead].name); err != nil {
		return err
	}
	if err := f.ready(ctx, f.replicas[lead]); err != nil {
		return err
	}
	c.report.Restarts++
	f.step("%s restarted and ready", f.replicas[lead].name)

	// Fault 2: cut the leader from the database under load, reconnect it.
	stop = c.startLoad(ctx, f.clients())
	if !sleep(ctx, cfg.Load) {
		stop()
		return ctx.Err()
	}
	if lead, err = f.leader(ctx, -1, cfg.Takeover); err != nil {
		stop()
		return err
	}
	cut := f.replicas[lead]
	var cutting atomic.Bool
	var exceptions atomic.Int64
	c.outageFunc = func(ctx context.Context) bool {
		if workerReplica(ctx) == lead && cutting.Load() {
			exceptions.Add(1)
			return true
		}
		return false
	}
	cutting.Store(true)
	f.step("cut %s, the leader, from the database under load", cut.name)
	cutAt := time.Now()
	if _, err := docker(ctx, "network", "disconnect", f.dbNet, cut.name); err != nil {
		stop()
		return err
	}
	stepDown := make(chan time.Duration, 1)
	go func() {
		// The cut replica must stop acting on its own: its lease check
		// fails once it cannot reach the database.
		deadline := time.Now().Add(cfg.Takeover)
		for time.Now().Before(deadline) {
			if leading, err := health(ctx, cut.url); err == nil && !leading {
				stepDown <- time.Since(cutAt)
				return
			}
			if !sleep(ctx, 20*time.Millisecond) {
				break
			}
		}
		stepDown <- -1
	}()
	next, err = f.leader(ctx, lead, cfg.Takeover)
	if err != nil {
		stop()
		return fmt.Errorf("after the cut: %w", err)
	}
	rep.CutTakeover = time.Since(cutAt)
	f.step("%s leads, %s after the cut", f.replicas[next].name, rep.CutTakeover.Round(time.Millisecond))
	survivor = f.replicas[(lead+1)%len(f.replicas)]
	running, err = probeTask(ctx, survivor.cl, cfg.Converge)
	if err != nil {
		c.failf("after the cut, a task run through %s: %v", survivor.name, err)
	}
	rep.CutFirstTask = running.Sub(cutAt)
	if rep.CutStepDown = <-stepDown; rep.CutStepDown < 0 {
		c.failf("%s, cut from the database, still reports leading %s later", cut.name, cfg.Takeover)
	} else {
		f.step("%s stepped down %s after the cut", cut.name, rep.CutStepDown.Round(time.Millisecond))
	}
	if err := f.unready(ctx, cut, cfg.Takeover); err != nil {
		c.failf("%v", err)
	}
	sleep(ctx, cfg.Load)
	if _, err := docker(ctx, "network", "connect", f.dbNet, cut.name); err != nil {
		stop()
		return err
	}
	reconnected := time.Now()
	if err := f.ready(ctx, cut); err != nil {
		stop()
		return fmt.Errorf("after the reconnection: %w", err)
	}
	rep.CutRecovered = time.Since(reconnected)
	f.step("%s reconnected, ready again after %s", cut.name, rep.CutRecovered.Round(time.Millisecond))
	sleep(ctx, cfg.Load)
	stop()
	cutting.Store(false)
	rep.CutServerExceptions = int(exceptions.Load())
	// Through the replica that was cut: it must answer from the state the
	// others wrote while it was away.
	took = c.verify(ctx, cut.cl)
	f.step("verified through %s: converged in %s (%d failures so far)", cut.name, took.Round(time.Millisecond), len(c.report.Failures))
	c.totals(ctx, f.replicas[(lead+1)%len(f.replicas)].cl)

	// Every replica stops cleanly (SIGTERM) and none logged a panic.
	for _, r := range f.replicas {
		if _, err := docker(ctx, "stop", "--time", "30", r.name); err != nil {
			c.failf("stopping %s: %v", r.name, err)
			continue
		}
		code, err := docker(ctx, "inspect", "--format", "{{.State.ExitCode}}", r.name)
		if err != nil || code != "0" {
			c.failf("%s exited with %q after SIGTERM (%v)", r.name, code, err)
		}
		logs, err := docker(ctx, "logs", r.name)
		if err != nil {
			c.failf("logs of %s: %v", r.name, err)
			continue
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(strings.ToLower(line), "panic") {
				c.failf("panic in %s's log: %s", r.name, line)
			}
		}
		c.held(1)
	}
	return nil
}

// start creates the networks, PostgreSQL and the replicas, and waits until
// every replica is ready.
func (f *fleet) start(ctx context.Context, cfg FailoverConfig) error {
	label := FailoverLabel + "=" + f.run
	// The database network is internal: nothing on it reaches the host,
	// so a replica disconnected from it has no other way to the database.
	if _, err := docker(ctx, "network", "create", "--internal", "--label", label, f.dbNet); err != nil {
		return err
	}
	if _, err := docker(ctx, "network", "create", "--label", label, f.apiNet); err != nil {
		return err
	}
	// TCP keepalives and a user timeout of a few seconds: PostgreSQL ends
	// the session of a replica cut from it (and so frees its lease) within
	// seconds, not the kernel's default two hours. fsync off: the faults
	// here hit ecsd, never the database server.
	if _, err := docker(ctx, "run", "-d", "--name", f.pg, "--label", label, "--network", f.dbNet, "--network-alias", "pg",
		cfg.PostgresImage, "-c", "fsync=off", "-c", "tcp_keepalives_idle=1", "-c", "tcp_keepalives_interval=1",
		"-c", "tcp_keepalives_count=2", "-c", "tcp_user_timeout=3000"); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := docker(ctx, "exec", f.pg, "pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-q"); err == nil {
			break
		} else if time.Now().After(deadline) {
			logs, _ := docker(ctx, "logs", "--tail", "20", f.pg)
			return fmt.Errorf("PostgreSQL not ready within 2m: %v\n%s", err, logs)
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	f.step("PostgreSQL ready in %s", f.pg)
	for i := range cfg.Replicas {
		r := &replica{name: fmt.Sprintf("%s-r%d", f.run, i)}
		args := []string{"create", "--name", r.name, "--label", label, "--network", f.apiNet,
			"--publish", "127.0.0.1::8080",
			"--env", "ECSD_DATABASE_URL=postgres://postgres@pg:5432/postgres?sslmode=disable",
			"--env", "ECSD_RUNTIME=fake",
			// A request waiting for a database out of reach answers
			// ServerException after this, not after 30s.
			"--env", "ECSD_REQUEST_TIMEOUT=5s",
			cfg.ECSDImage, "--service-healthy-after", "0s"}
		// The crash campaign's EC2 load wants managed scaling quick.
		if _, err := docker(ctx, append(args, ec2Flags...)...); err != nil {
			return err
		}
		if _, err := docker(ctx, "network", "connect", f.dbNet, r.name); err != nil {
			return err
		}
		if _, err := docker(ctx, "start", r.name); err != nil {
			return err
		}
		f.replicas = append(f.replicas, r)
	}
	for _, r := range f.replicas {
		if err := f.ready(ctx, r); err != nil {
			return err
		}
	}
	f.step("%d replicas ready", len(f.replicas))
	return nil
}

// ready finds r's published port (it changes when the container restarts)
// and waits until its /ready answers 200.
func (f *fleet) ready(ctx context.Context, r *replica) error {
	deadline := time.Now().Add(time.Minute)
	for {
		port, err := docker(ctx, "inspect", "--format", `{{with index .NetworkSettings.Ports "8080/tcp"}}{{(index . 0).HostPort}}{{end}}`, r.name)
		if err == nil && port != "" {
			if url := "http://127.0.0.1:" + port; url != r.url {
				r.url, r.cl = url, newClient(url)
			}
			if code, _ := get(ctx, r.url+"/ready"); code == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			logs, _ := docker(ctx, "logs", "--tail", "20", r.name)
			return fmt.Errorf("%s not ready within 1m (%v)\n%s", r.name, err, logs)
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// unready waits until r's /ready answers 503, as it must while r cannot
// reach the database.
func (f *fleet) unready(ctx context.Context, r *replica, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if code, _ := get(ctx, r.url+"/ready"); code == http.StatusServiceUnavailable {
			return nil
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s, cut from the database, did not answer /ready with 503 within %s", r.name, within)
}

func (f *fleet) clients() []*ecs.Client {
	out := make([]*ecs.Client, len(f.replicas))
	for i, r := range f.replicas {
		out[i] = r.cl
	}
	return out
}

// leader waits until exactly one replica other than except reports
// holding the lease, and returns its index.
func (f *fleet) leader(ctx context.Context, except int, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	var found []int
	for {
		found = found[:0]
		for i, r := range f.replicas {
			if i == except {
				continue
			}
			if leading, err := health(ctx, r.url); err == nil && leading {
				found = append(found, i)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("want one replica leading, %d report it after %s", len(found), within)
		}
		if !sleep(ctx, 20*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
}

func (f *fleet) saveLogs(ctx context.Context, dir string) {
	for _, name := range append([]string{f.pg}, f.replicaNames()...) {
		out, err := exec.CommandContext(ctx, "docker", "logs", name).CombinedOutput()
		if err != nil && len(out) == 0 {
			continue
		}
		_ = os.WriteFile(filepath.Join(dir, name+".log"), out, 0o644)
	}
}

func (f *fleet) replicaNames() []string {
	var out []string
	for _, r := range f.replicas {
		out = append(out, r.name)
	}
	return out
}

var healthClient = &http.Client{Timeout: 2 * time.Second}

func get(ctx context.Context, url string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// health reports whether the replica at url says it leads.
func health(ctx context.Context, url string) (bool, error) {
	code, body := get(ctx, url+"/health")
	if code != http.StatusOK {
		return false, fmt.Errorf("/health answered %d", code)
	}
	return strings.Contains(body, `"leader":true`), nil
}

// setupProbe creates the cluster and task definition of the tasks that
// time how soon a new leader starts work; they live apart from the
// campaign's cluster, whose every task the checks account for.
func setupProbe(ctx context.Context, cl *ecs.Client) error {
	if _, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(probeCluster)}); err != nil {
		return err
	}
	_, err := cl.RegisterTaskDefinition(ctx, taskDef("failover_probe", "probe"))
	return err
}

// probeTask runs one task through cl and returns when it was first seen
// RUNNING.
func probeTask(ctx context.Context, cl *ecs.Client, within time.Duration) (time.Time, error) {
	out, err := cl.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(probeCluster), TaskDefinition: aws.String("failover_probe"),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf,
	})
	if err != nil {
		return time.Now(), fmt.Errorf("RunTask: %w", err)
	}
	if len(out.Tasks) != 1 {
		return time.Now(), fmt.Errorf("RunTask: %d tasks, failures %v", len(out.Tasks), out.Failures)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	deadline := time.Now().Add(within)
	for {
		d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(probeCluster), Tasks: []string{arn}})
		if err == nil && len(d.Tasks) == 1 && aws.ToString(d.Tasks[0].LastStatus) == "RUNNING" {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Now(), fmt.Errorf("task %s not RUNNING within %s", arn, within)
		}
		if !sleep(ctx, 20*time.Millisecond) {
			return time.Now(), ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
