// Package server assembles ecsd: it opens the store, wires the protocol
// server, the api handlers and the worker loops together, serves HTTP and
// shuts everything down in order. cmd/ecsd and the end-to-end tests both
// start ecsd through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/api"
	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/console"
	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/driver"

	"github.com/ecsd/ecsd/internal/execsession"
	"github.com/ecsd/ecsd/internal/metrics"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/reconcile"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
	"github.com/ecsd/ecsd/internal/worker"
)

// Config is everything ecsd can be told at start-up.
type Config struct {
	Listen  string // host:port
	DataDir string
	// Database, when set, is a PostgreSQL URL (postgres://...) whose
	// database holds the state instead of the SQLite file in DataDir;
	// several ecsd processes may share it (database.go says what they
	// can and cannot do together yet).
	Database  string
	AccountID string
	Region    string
	// DeletionDelay is how long an unused DELETE_IN_PROGRESS task
	// definition waits before it is purged.
	DeletionDelay time.Duration
	// DeletionInterval is the pause between sweeps (default 10s).
	DeletionInterval time.Duration
	MaxBodyBytes     int64
	// InactiveGrace is the window after deregistration in which an
	// INACTIVE revision may still be used (AWS: up to 10 minutes; 0 =
	// strict).
	InactiveGrace time.Duration
	// EnableReset serves POST /moto-api/reset, which clears all state.
	EnableReset bool
	// CreateDefaultCluster creates the "default" cluster on first use by
	// RunTask or CreateService, as the ECS console and agent do; the API
	// alone does not.
	CreateDefaultCluster bool
	// SimDelay is how long a task stays in each lifecycle state on the
	// simulated runtime (0: as fast as possible).
	SimDelay time.Duration
	// TaskRetention is how long STOPPED tasks stay describable (default
	// 1h, as ECS: "at least one hour").
	TaskRetention time.Duration
	// ServiceHealthyAfter is how long a service task without container
	// health checks must run before the scheduler counts it healthy (ECS
	// waits 40s; 0 counts it at once).
	ServiceHealthyAfter time.Duration
	// LaunchBackoff is the service throttle logic's back-off between
	// launches of a service whose tasks keep failing to start; zero is
	// ECS's (reconcile.DefaultBackoff). Tests shorten it.
	LaunchBackoff reconcile.Backoff
	// Runtime runs the tasks' containers: "fake" (or "") the simulated
	// runtime, "docker" the local Docker Engine, "auto" Docker when an
	// Engine answers and the simulated runtime otherwise.
	Runtime string
	// VerifySigV4 is a credentials file (AWS shared-credentials format);
	// when set, every request must be SigV4-signed by one of its keys.
	VerifySigV4 string
	// InsecureAllowRemote lets the Docker runtime serve a non-loopback
	// Listen without VerifySigV4 (listen.go).
	InsecureAllowRemote bool
	// SimInstances gives every cluster that many simulated container
	// instances (the cluster tag ecsd:sim-instances overrides it).
	SimInstances int
	// ScalingInterval is how often managed scaling evaluates each
	// capacity provider (default a minute, as ECS).
	ScalingInterval time.Duration
	// ScaleInWait, when positive, replaces ECS's 15-minute scale-in waits.
	ScaleInWait time.Duration
	// ProvisioningTimeout, when positive, replaces ECS's 30 minutes a task
	// waits in PROVISIONING for capacity before it is stopped.
	ProvisioningTimeout time.Duration
	// DockerHostClusters names the clusters the Docker host registers in
	// as a container instance with the Docker runtime; empty: all.
	DockerHostClusters []string
	// KeepStoppedContainers bounds how many stopped tasks keep their
	// containers on the Docker runtime (DefaultKeepStoppedContainers when
	// zero; negative keeps none).
	KeepStoppedContainers int
	// LogSweepEvery is how often the awslogs ingester looks again at
	// containers it could not follow yet (default 5s).
	LogSweepEvery time.Duration
	// Kubeconfig is the kubeconfig file of the cluster the kubernetes
	// runtime runs pods on; "" is $KUBECONFIG, ~/.kube/config, or the
	// in-cluster service account when ecsd runs in a pod.
	Kubeconfig string
	// KubeNamespace holds the kubernetes runtime's pods; "" is "ecsd".
	KubeNamespace string
	// KubeMetadataListen is an address ("host:port", e.g. ":51679") the
	// task metadata and credentials endpoints are served on for the
	// kubernetes runtime's pods, and KubeMetadataURL the base URL pods are
	// given for them (a Service in front of that port, e.g.
	// "http://ecsd-metadata.ecsd.svc:51679"). Without them the endpoints
	// serve loopback only: reachable from hostNetwork pods on ecsd's own
	// machine (docs/kubernetes-runtime.md).
	KubeMetadataListen, KubeMetadataURL string
	// Limits bound connections and request times (limits.go); zero
	// fields take DefaultLimits.
	Limits Limits
	Logger *slog.Logger
}

// DefaultProvisioningTimeout is ECS's longest wait for capacity, the
// default of --provisioning-timeout.
const DefaultProvisioningTimeout = worker.DefaultProvisioningTimeout

// loop is a background worker: level-triggered, started once, stopped on
// shutdown.
type loop interface {
	Start(ctx context.Context)
	Stop()
}

// Server is a running ecsd.
type Server struct {
	cfg   Config
	store storeCloser
	http  *http.Server
	loops []loop // started in order, stopped in reverse
	// resetters run after the store is cleared by POST /moto-api/reset.
	resetters []func(ctx context.Context) error
	ln        net.Listener
	runtime   *runtime
	// exec serves ExecuteCommand's sessions; nil on the simulated runtime.
	exec *execsession.Manager
	// leader runs the loops while this replica holds the leader lease;
	// nil on SQLite, where the loops always run.
	leader *leader
	// relay carries notices to and from the other replicas; nil on
	// SQLite.
	relay *pgRelay
	// metrics is served at GET /metrics (metrics.go).
	metrics *metrics.Metrics
	// logs keeps what awslogs containers and PutLogEvents write, served
	// by the CloudWatch Logs API (logs.go).
	logs *sqlitestore.Logs
}

// Start opens the store, starts the loops and begins serving on cfg.Listen.
// The returned server answers /health with 200 from the moment Start
// returns.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if !validAccount(cfg.AccountID) {
		return nil, fmt.Errorf("account id %q is not 12 digits", cfg.AccountID)
	}
	var verifier *awsjson.Verifier
	if cfg.VerifySigV4 != "" {
		creds, err := awsjson.LoadCredentialsFile(cfg.VerifySigV4)
		if err != nil {
			return nil, fmt.Errorf("--verify-sigv4: %w", err)
		}
		if verifier, err = awsjson.NewVerifier(creds); err != nil {
			return nil, fmt.Errorf("--verify-sigv4 %s: %w", cfg.VerifySigV4, err)
		}
		cfg.Logger.Info("verifying SigV4 signatures", "credentials", cfg.VerifySigV4, "keys", len(creds))
	}
	guardListen := func(runtime string) error {
		warning, err := checkListen(ctx, cfg.Listen, runtime, verifier != nil, cfg.InsecureAllowRemote)
		if warning != "" {
			cfg.Logger.Warn(warning)
		}
		return err
	}
	// An explicit docker runtime is refused before anything is opened;
	// auto is checked again once it has chosen.
	if err := guardListen(cfg.Runtime); err != nil {
		return nil, err
	}
	met := metrics.New(cfg.Logger)
	st, err := openStore(ctx, cfg, met.ObserveCommit)
	if err != nil {
		return nil, err
	}
	shared := cfg.Database != ""
	// One hub carries every change notice: from the use-cases, the loops
	// and the runtime to the loops that act on them, and, on PostgreSQL,
	// to and from the other replicas (relay.go).
	var relay *pgRelay
	var leading atomic.Bool
	if pg, ok := st.(pgStore); ok {
		relay = newPGRelay(pg.Store, &leading, cfg.Logger)
	}
	hub := notify.New(relayOrNil(relay))
	// The runtime is resolved (auto has become fake or docker) before
	// anything listens.
	rt, err := openRuntime(ctx, cfg, st, hub)
	if err != nil {
		st.Close()
		return nil, err
	}
	if rt.name != cfg.Runtime {
		if err := guardListen(rt.name); err != nil {
			rt.close()
			st.Close()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		rt.close()
		st.Close()
		return nil, listenError(cfg.Listen, err)
	}
	// Everything below reaches the runtime through the counting wrapper.
	rt.driver = met.Driver(rt.name, rt.driver)
	if c, ok := st.(store.Counter); ok {
		met.WatchStore(c)
	}
	logs, err := sqlitestore.OpenLogs(ctx, cfg.DataDir)
	if err != nil {
		ln.Close()
		rt.close()
		st.Close()
		return nil, err
	}
	logs.StoredFunc = met.LogBytesStored
	s := &Server{runtime: rt, metrics: met, logs: logs}
	ctl := control.New(st, cfg.Logger)
	ctl.InactiveGrace = cfg.InactiveGrace
	ctl.CreateDefaultCluster = cfg.CreateDefaultCluster
	ctl.PollEndpoint = "http://" + ln.Addr().String() + "/"
	// RunTask and the service scheduler place EC2 tasks with the placement
	// engine; the random strategy and ties between equally good instances
	// are decided at random, as on ECS.
	ctl.RandFunc = rand.IntN
	ctl.Instances = control.ManagedInstances{Simulated: cfg.SimInstances, DockerHost: rt.host, DockerHostClusters: cfg.DockerHostClusters}
	ctl.Notifier = hub
	var nodes *nodeLoop
	if rt.hosts != nil {
		// The kubernetes runtime's nodes are container instances of the
		// clusters the Docker host would register in (kubenodes.go).
		ctl.Instances.NodesFunc, ctl.Instances.NodeClusters = nodeInstances(rt.hosts), cfg.DockerHostClusters
		nodes = newNodeLoop(ctl, rt.hosts, cfg.Logger)
		hub.Subscribe(notify.Hosts, func(string) { nodes.Kick() })
	}
	proto := awsjson.NewServer(cfg.AccountID, cfg.Region, cfg.Logger)
	if cfg.MaxBodyBytes > 0 {
		proto.MaxBodyBytes = cfg.MaxBodyBytes
	}
	proto.Verifier = verifier
	if verifier != nil && rt.metadata != nil {
		// Code in a task may call ecsd with the task role's simulated
		// credentials, as it would call ECS with real ones.
		md := rt.metadata
		verifier.LookupFunc = func(id string) (awsjson.Credential, bool) {
			secret, token, ok := md.TaskRoleCredential(id)
			return awsjson.Credential{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Profile: "task role"}, ok
		}
	}
	limits := cfg.Limits.withDefaults()
	proto.Timeout = limits.RequestTimeout
	proto.Unavailable = storeUnavailable(st)
	api.Register(proto, ctl)
	observeRequests(proto, met)
	api.RegisterLogs(proto, &control.Logs{Store: logs})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) { serveReady(w, r, st) })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if s.leader != nil {
			// Liveness only: a database outage is /ready's to report, and
			// restarting replicas would not end it. Which replica runs
			// the loops, for operators and tests.
			fmt.Fprintf(w, `{"status":"ok","store":"postgres","leader":%t}`, s.leader.leading.Load())
			return
		}
		if err := st.Ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	if cfg.EnableReset {
		// moto_server's reset path, so suites written for moto run
		// unchanged. Loops keep running: they are level-triggered and find
		// nothing left to do.
		mux.Handle("POST /moto-api/reset", proto.RequireSignature(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if err := s.reset(r.Context()); err != nil {
				cfg.Logger.Error("reset failed", "err", err)
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"status":"error"}`))
				return
			}
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		})))
	} else {
		// Say what serves it rather than answer as an unknown operation.
		mux.HandleFunc("POST /moto-api/reset", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(ResetDisabledBody + "\n"))
		})
	}
	// Open, as /health is, even with --verify-sigv4: Prometheus cannot
	// sign its scrapes, and the metrics name no resource (docs/metrics.md).
	mux.Handle("GET /metrics", met.Handler())
	s.exec = serveExec(rt.driver, ctl, mux, cfg.Logger)
	// The web console: a client of the API above, plus the runtime's
	// container output, which the ECS API does not carry.
	mux.Handle("/console/", console.Handler(console.Config{Logs: consoleLogs(rt, cfg), RequireSignatureFunc: proto.RequireSignature}))
	mux.Handle("/", proto)

	s.cfg, s.store, s.ln = cfg, st, newLimitListener(ln, limits.MaxConnections)
	s.http = &http.Server{
		Handler:           cleanPaths(proto, mux),
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// The loops subscribe to the notices they act on; none needs another
	// to exist first.
	tasks := worker.NewTasks(worker.TasksConfig{
		TransitionDelay:  cfg.SimDelay,
		StoppedRetention: cfg.TaskRetention,
		SpecFunc:         rt.specFunc(ctl, cfg.Logger),
		KeepStopped:      rt.keepStopped(cfg),
		ArchiveFunc:      rt.archive,
		Logger:           cfg.Logger,
		SharedStore:      shared,
		PassFunc:         met.PassFunc(metrics.LoopTaskSupervisor),
		Notifier:         hub,
		NextChangeFunc:   rt.nextChange,
	}, st, rt.driver)
	met.WatchQueue(metrics.LoopTaskSupervisor, tasks.QueueDepth)
	hub.Subscribe(notify.Task, tasks.Kick)
	hub.Subscribe(notify.Group, tasks.KickGroup)
	s.resetters = append(s.resetters, tasks.Reset, func(context.Context) error {
		return os.RemoveAll(filepath.Join(cfg.DataDir, StoppedLogsDir)) // kept output of tasks now gone
	})
	s.loops = append(s.loops, tasks)
	services := worker.NewServices(worker.ServicesConfig{
		HealthyAfter: cfg.ServiceHealthyAfter,
		Throttle:     cfg.LaunchBackoff,
		Logger:       cfg.Logger,
		Notifier:     hub,
		RandFunc:     rand.IntN,
		SharedStore:  shared,
		PassFunc:     met.PassFunc(metrics.LoopServiceScheduler),
	}, st)
	met.WatchQueue(metrics.LoopServiceScheduler, services.QueueDepth)
	hub.Subscribe(notify.Service, services.Kick)
	s.resetters = append(s.resetters, services.Reset)
	s.loops = append(s.loops, services)
	scaling := worker.NewScaling(worker.ScalingConfig{
		Interval:            cfg.ScalingInterval,
		ScaleInWait:         cfg.ScaleInWait,
		ProvisioningTimeout: cfg.ProvisioningTimeout,
		Logger:              cfg.Logger,
		Notifier:            hub,
		RandFunc:            rand.IntN,
	}, st)
	// A new task may wait for capacity; a provider or a cluster's
	// providers changed.
	hub.Subscribe(notify.Task, scaling.Kick)
	hub.Subscribe(notify.CapacityProvider, scaling.Kick)
	s.loops = append(s.loops, scaling)
	s.loops = append(s.loops, worker.NewDeletion(worker.DeletionConfig{
		Delay:    cfg.DeletionDelay,
		Interval: cfg.DeletionInterval,
		Logger:   cfg.Logger,
	}, st))
	s.resetters = append(s.resetters, logs.ResetLogs)
	if reader, ok := rt.driver.(driver.LogReader); ok {
		// The awslogs ingester follows every task that starts or stops.
		ingest := worker.NewLogIngest(worker.LogIngestConfig{Logger: cfg.Logger, SweepEvery: cfg.LogSweepEvery}, st, logs, reader)
		hub.Subscribe(notify.TaskStatus, ingest.Kick)
		s.resetters = append(s.resetters, ingest.Reset)
		s.loops = append(s.loops, ingest)
	}
	s.loops = append(s.loops, worker.NewLogRetention(worker.LogRetentionConfig{Logger: cfg.Logger}, logs))
	if nodes != nil {
		hub.Subscribe(notify.Instance, func(string) { nodes.Kick() })
		s.loops = append(s.loops, nodes)
	}
	// Every cluster gets the instances ecsd registers itself before the
	// first request can place a task.
	if err := ctl.EnsureManagedInstances(ctx); err != nil {
		ln.Close()
		rt.close()
		logs.Close()
		st.Close()
		return nil, fmt.Errorf("register container instances: %w", err)
	}
	if groups, err := rt.driver.List(ctx, map[string]string{worker.LabelManaged: "true"}); err == nil && rt.name == RuntimeDocker {
		running := 0
		for _, g := range groups {
			if g.Running() {
				running++
			}
		}
		cfg.Logger.Info("adopted the containers of tasks from before start-up", "taskGroups", len(groups), "running", running)
	}
	if pg, ok := st.(pgStore); ok {
		// Replicas share the database: only the one holding the leader
		// lease runs the loops; the others relay their notices to it.
		s.relay = relay
		relay.start(ctx, hub, tasks.Resync) // the other loops resync every second or minute
		s.leader = lead(ctx, pg.Store, s.loops, &leading, cfg.Logger)
	} else {
		for _, l := range s.loops {
			l.Start(context.WithoutCancel(ctx))
		}
	}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("http server stopped", "err", err)
		}
	}()
	cfg.Logger.Info("ecsd listening", "addr", ln.Addr().String(), "dataDir", cfg.DataDir, "store", st.Name(),
		"account", cfg.AccountID, "region", cfg.Region, "runtime", rt.name)
	return s, nil
}

// reset clears every piece of state: the store, then whatever each
// resetter (a runtime's containers) holds.
func (s *Server) reset(ctx context.Context) error {
	if err := s.store.Reset(ctx); err != nil {
		return err
	}
	for _, f := range s.resetters {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint to give AWS clients.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Runtime names the runtime tasks run on: "fake" or "docker".
func (s *Server) Runtime() string { return s.runtime.name }

// StoreStats reports the store's own statistics since start-up: for
// SQLite the writer's commits and the writes they made durable (writes per
// commit is the group-commit factor), for PostgreSQL the transactions
// retried after a conflict.
func (s *Server) StoreStats() any { return s.store.Stats() }

// Shutdown stops accepting requests, lets in-flight ones finish (until ctx
// ends), stops the loops, lets go of the runtime and closes the store
// cleanly. Containers keep running, as they would if ecsd died: the next
// start adopts them.
func (s *Server) Shutdown(ctx context.Context) error {
	err := errors.Join(s.http.Shutdown(ctx), s.closeExec(ctx))
	if s.leader != nil {
		s.leader.stop() // stops the loops, then gives the lease up
	}
	if s.relay != nil {
		s.relay.stop()
	}
	for i := len(s.loops) - 1; i >= 0; i-- {
		s.loops[i].Stop()
	}
	return errors.Join(err, s.runtime.close(), s.logs.Close(), s.store.Close())
}

// LogBytes is the size of the log messages the CloudWatch Logs store
// keeps (the "log bytes stored" metric).
func (s *Server) LogBytes() int64 { return s.logs.LogBytes() }

func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
