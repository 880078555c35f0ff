// Command ecsd is Amazon ECS on your own machine. It reads flags and
// environment into a server.Config and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/server"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `ecsd is Amazon ECS on your own machine: the ECS API (AWS CLI, SDKs,
Terraform) served locally, with tasks on a simulated runtime, on Docker or
as pods on Kubernetes.

usage:
  ecsd [flags]                      serve the ECS API until ^C or SIGTERM
  ecsd logs [flags] TASK [CONTAINER] print what a task's containers wrote
  ecsd version                      print the version and VCS revision
  ecsd help                         print this help

Every flag can also be set with the environment variable named beside it.

flags:
`

// realMain runs ecsd with args and returns its exit code: 0 on success
// and for help, 2 for a command line it cannot use, 1 for other errors.
func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "logs": // ecsd logs TASK [CONTAINER]
			err := logsMain(args[1:], stdout, stderr)
			switch {
			case errors.Is(err, flag.ErrHelp):
				return 0
			case err != nil:
				fmt.Fprintln(stderr, "ecsd:", err)
				return 1
			}
			return 0
		case "help", "-h", "-help", "--help":
			fs, _ := serveFlags(stdout)
			fs.Usage()
			return 0
		case "version", "-version", "--version":
			if len(args) > 1 {
				fmt.Fprintf(stderr, "ecsd: version takes no arguments, got %q\n", args[1:])
				return 2
			}
			fmt.Fprintln(stdout, versionString())
			return 0
		}
		if !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "ecsd: unknown command %q: the commands are logs, version and help (ecsd help lists them and every flag)\n", args[0])
			return 2
		}
	}
	if err := run(args, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "ecsd:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// DefaultServiceHealthyAfter is ECS's wait before a RUNNING task without
// container health checks counts healthy.
const DefaultServiceHealthyAfter = 40 * time.Second

// usageError is a command line ecsd cannot use.
type usageError struct{ error }

// versionString is the module version and the VCS revision the binary
// was built from, as the Go toolchain stamped them.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ecsd: no build information in this binary"
	}
	rev, at, dirty := "", "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	v := fmt.Sprintf("ecsd %s (module %s", bi.Main.Version, bi.Main.Path)
	switch {
	case rev == "":
		v += ", no VCS revision: built outside a checkout or with -buildvcs=false"
	default:
		v += ", revision " + rev
		if dirty {
			v += " with uncommitted changes"
		}
		if at != "" {
			v += ", committed " + at
		}
	}
	return v + ", " + bi.GoVersion + ")"
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// flagValues are the serve flags, parsed.
type flagValues struct {
	listen, dataDir, database, account, region, logLevel, logFormat *string
	deletionDelay, inactiveGrace, simDelay, taskRetention           *time.Duration
	serviceHealthyAfter, requestTimeout                             *time.Duration
	enableReset, createDefault, insecureRemote                      *bool
	runtime, verifySigV4, dockerHostClusters, pprofAddr             *string
	maxConns, simInstances, keepStoppedContainers                   *int
	scalingInterval, scaleInWait, provisioningTimeout               *time.Duration
	kubeconfig, kubeNamespace                                       *string
	kubeMetadataListen, kubeMetadataURL                             *string
}

// serveFlags declares the flags of ecsd itself; its Usage prints the
// whole help to out.
func serveFlags(out io.Writer) (*flag.FlagSet, *flagValues) {
	fs := flag.NewFlagSet("ecsd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", env("ECSD_LISTEN", "127.0.0.1:8080"), "address to serve the ECS API on (env ECSD_LISTEN)")
	dataDir := fs.String("data-dir", env("ECSD_DATA_DIR", "ecsd-data"), "directory for the durable state (env ECSD_DATA_DIR)")
	database := fs.String("database", env("ECSD_DATABASE_URL", ""),
		"PostgreSQL `URL` (postgres://user:password@host:5432/dbname) holding the state instead of the SQLite file in --data-dir; several ecsd processes may share one database (env ECSD_DATABASE_URL)")
	account := fs.String("account-id", env("ECSD_ACCOUNT_ID", "000000000000"), "account for requests whose access key is not a 12-digit account id (env ECSD_ACCOUNT_ID)")
	region := fs.String("region", env("ECSD_REGION", "us-east-1"), "region for requests without a SigV4 credential scope (env ECSD_REGION)")
	logLevel := fs.String("log-level", env("ECSD_LOG_LEVEL", "info"), "debug, info, warn or error; debug logs one line per request (env ECSD_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("ECSD_LOG_FORMAT", "text"), "text (key=value lines) or json (one JSON object a line) (env ECSD_LOG_FORMAT)")
	deletionDelay := fs.Duration("deletion-delay", envDuration("ECSD_DELETION_DELAY", time.Hour),
		"how long an unused DELETE_IN_PROGRESS task definition waits before it is deleted (env ECSD_DELETION_DELAY)")
	inactiveGrace := fs.Duration("inactive-grace", envDuration("ECSD_INACTIVE_GRACE", 0),
		"window after DeregisterTaskDefinition in which the INACTIVE revision may still start tasks and be deployed; AWS admits up to 10m; 0 = strict (env ECSD_INACTIVE_GRACE)")
	enableReset := fs.Bool("enable-reset", envBool("ECSD_ENABLE_RESET"), "serve POST /moto-api/reset, which deletes all state (env ECSD_ENABLE_RESET=1)")
	simDelay := fs.Duration("sim-delay", envDuration("ECSD_SIM_DELAY", 0),
		"how long a task stays in each lifecycle state on the simulated runtime, e.g. 2s for demos (env ECSD_SIM_DELAY)")
	taskRetention := fs.Duration("task-retention", envDuration("ECSD_TASK_RETENTION", time.Hour),
		"how long STOPPED tasks stay describable before they are deleted (env ECSD_TASK_RETENTION)")
	// ECS waits 40 seconds (SDK DeploymentConfiguration.minimumHealthyPercent)
	// before a task without container health checks counts healthy; the
	// circuit breaker counts a task that stops sooner as failed, so a
	// revision that crashes after a second fails its deployment.
	serviceHealthyAfter := fs.Duration("service-healthy-after", envDuration("ECSD_SERVICE_HEALTHY_AFTER", DefaultServiceHealthyAfter),
		"how long a service task without container health checks runs before the scheduler counts it healthy, as ECS's 40s; 0s counts it at once (quick demos and tests) (env ECSD_SERVICE_HEALTHY_AFTER)")
	createDefault := fs.Bool("create-default-cluster", envBool("ECSD_CREATE_DEFAULT_CLUSTER"),
		"create the default cluster when RunTask or CreateService names no cluster and it does not exist, as the ECS console and agent do (env ECSD_CREATE_DEFAULT_CLUSTER=1)")
	runtime := fs.String("runtime", env("ECSD_RUNTIME", server.RuntimeFake),
		"where tasks run: fake (the simulated runtime), docker (containers on the local Docker Engine), kubernetes (pods on the cluster --kubeconfig names) or auto (docker when an Engine answers, else fake) (env ECSD_RUNTIME)")
	kubeconfig := fs.String("kubeconfig", env("ECSD_KUBECONFIG", ""),
		"with --runtime kubernetes, the kubeconfig `FILE` of the cluster; empty: $KUBECONFIG, ~/.kube/config, or the in-cluster service account (env ECSD_KUBECONFIG)")
	kubeMetadataListen := fs.String("kube-metadata-listen", env("ECSD_KUBE_METADATA_LISTEN", ""),
		"with --runtime kubernetes, an `ADDR` (host:port, e.g. :51679) the task metadata and credentials endpoints are also served on, for pods (env ECSD_KUBE_METADATA_LISTEN)")
	kubeMetadataURL := fs.String("kube-metadata-url", env("ECSD_KUBE_METADATA_URL", ""),
		"with --runtime kubernetes, the base `URL` pods reach the metadata endpoints at (a Service in front of --kube-metadata-listen, e.g. http://ecsd-metadata.ecsd.svc:51679); it starts ECS_CONTAINER_METADATA_URI_V4 (env ECSD_KUBE_METADATA_URL)")
	kubeNamespace := fs.String("kube-namespace", env("ECSD_KUBE_NAMESPACE", server.DefaultKubeNamespace),
		"with --runtime kubernetes, the namespace all tasks' pods run in, created if missing (env ECSD_KUBE_NAMESPACE)")
	verifySigV4 := fs.String("verify-sigv4", env("ECSD_VERIFY_SIGV4", ""),
		"credentials `FILE` in the AWS shared-credentials format: every request must then be SigV4-signed by one of its keys (env ECSD_VERIFY_SIGV4)")
	insecureRemote := fs.Bool("insecure-allow-remote", envBool("ECSD_INSECURE_ALLOW_REMOTE"),
		"let the docker or kubernetes runtime serve a non-loopback --listen without --verify-sigv4: anyone who can reach it is root on this host (env ECSD_INSECURE_ALLOW_REMOTE=1)")
	maxConns := fs.Int("max-connections", envInt("ECSD_MAX_CONNECTIONS", server.DefaultLimits.MaxConnections),
		"most client connections open at once; more wait in the listen backlog until one closes (env ECSD_MAX_CONNECTIONS)")
	requestTimeout := fs.Duration("request-timeout", envDuration("ECSD_REQUEST_TIMEOUT", server.DefaultLimits.RequestTimeout),
		"how long one request may wait for the store before it answers ServerException (env ECSD_REQUEST_TIMEOUT)")
	simInstances := fs.Int("sim-instances", envInt("ECSD_SIM_INSTANCES", 0),
		"give every cluster N simulated container instances (c5.large, in distinct availability zones) for EC2 tasks; the cluster tag ecsd:sim-instances overrides it (env ECSD_SIM_INSTANCES)")
	dockerHostClusters := fs.String("docker-host-clusters", env("ECSD_DOCKER_HOST_CLUSTERS", ""),
		"with --runtime docker, the comma-separated clusters the Docker host registers in as a container instance (with --runtime kubernetes, those every node registers in); empty: every cluster (env ECSD_DOCKER_HOST_CLUSTERS)")
	keepStoppedContainers := fs.Int("keep-stopped-containers", envInt("ECSD_KEEP_STOPPED_CONTAINERS", server.DefaultKeepStoppedContainers),
		"with --runtime docker, how many stopped tasks keep their containers (the newest); older ones are removed sooner than ECS's 3 hours, their output kept for ecsd logs (env ECSD_KEEP_STOPPED_CONTAINERS)")
	scalingInterval := fs.Duration("managed-scaling-interval", envDuration("ECSD_MANAGED_SCALING_INTERVAL", time.Minute),
		"how often managed scaling evaluates each capacity provider's simulated Auto Scaling group; ECS: every minute (env ECSD_MANAGED_SCALING_INTERVAL)")
	scaleInWait := fs.Duration("scale-in-wait", envDuration("ECSD_SCALE_IN_WAIT", 0),
		"replace ECS's 15-minute managed scale-in waits (below target, and after a scale-out) with this, e.g. 1s for local work; 0 keeps ECS's (env ECSD_SCALE_IN_WAIT)")
	provisioningTimeout := fs.Duration("provisioning-timeout", envDuration("ECSD_PROVISIONING_TIMEOUT", server.DefaultProvisioningTimeout),
		"how long a task may wait in PROVISIONING for its capacity provider's capacity before it is stopped; ECS: up to 30 minutes (env ECSD_PROVISIONING_TIMEOUT)")
	pprofAddr := fs.String("pprof", env("ECSD_PPROF", ""),
		"serve Go's profiler and expvar (store commit statistics) on this `ADDR`, e.g. 127.0.0.1:6060; for debugging and benchmarks (env ECSD_PPROF)")
	return fs, &flagValues{
		listen: listen, dataDir: dataDir, database: database, account: account, region: region, logLevel: logLevel, logFormat: logFormat,
		deletionDelay: deletionDelay, inactiveGrace: inactiveGrace, simDelay: simDelay, taskRetention: taskRetention,
		serviceHealthyAfter: serviceHealthyAfter, requestTimeout: requestTimeout,
		enableReset: enableReset, createDefault: createDefault, insecureRemote: insecureRemote,
		runtime: runtime, verifySigV4: verifySigV4, dockerHostClusters: dockerHostClusters, pprofAddr: pprofAddr,
		maxConns: maxConns, simInstances: simInstances, keepStoppedContainers: keepStoppedContainers,
		scalingInterval: scalingInterval, scaleInWait: scaleInWait, provisioningTimeout: provisioningTimeout,
		kubeconfig: kubeconfig, kubeNamespace: kubeNamespace,
		kubeMetadataListen: kubeMetadataListen, kubeMetadataURL: kubeMetadataURL,
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs, f := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q: ecsd takes only flags (the commands are logs, version and help; ecsd help lists every flag)", fs.Arg(0))}
	}
	listen, dataDir, account, region, logLevel := f.listen, f.dataDir, f.account, f.region, f.logLevel
	deletionDelay, inactiveGrace, enableReset, simDelay := f.deletionDelay, f.inactiveGrace, f.enableReset, f.simDelay
	taskRetention, serviceHealthyAfter, createDefault, runtime := f.taskRetention, f.serviceHealthyAfter, f.createDefault, f.runtime
	verifySigV4, insecureRemote, maxConns, requestTimeout := f.verifySigV4, f.insecureRemote, f.maxConns, f.requestTimeout
	simInstances, dockerHostClusters, pprofAddr := f.simInstances, f.dockerHostClusters, f.pprofAddr
	if *f.provisioningTimeout <= 0 {
		return usageError{fmt.Errorf("--provisioning-timeout %s: must be positive", *f.provisioningTimeout)}
	}
	if *f.scalingInterval <= 0 || *f.scaleInWait < 0 {
		return usageError{fmt.Errorf("--managed-scaling-interval %s, --scale-in-wait %s: the interval must be positive, the wait not negative", *f.scalingInterval, *f.scaleInWait)}
	}
	if *simInstances < 0 || *simInstances > control.MaxSimInstances {
		return usageError{fmt.Errorf("--sim-instances %d: must be between 0 and %d", *simInstances, control.MaxSimInstances)}
	}
	var hostClusters []string
	for _, c := range strings.Split(*dockerHostClusters, ",") {
		if c = strings.TrimSpace(c); c != "" {
			hostClusters = append(hostClusters, c)
		}
	}
	if *maxConns < 1 || *requestTimeout <= 0 {
		return usageError{fmt.Errorf("--max-connections %d, --request-timeout %s: both must be positive", *maxConns, *requestTimeout)}
	}
	if *inactiveGrace < 0 || *inactiveGrace > control.MaxInactiveGrace {
		return usageError{fmt.Errorf("--inactive-grace %s: must be between 0 and %s, the window AWS documents", *inactiveGrace, control.MaxInactiveGrace)}
	}
	switch *runtime {
	case server.RuntimeFake, server.RuntimeDocker, server.RuntimeKubernetes, server.RuntimeAuto:
	default:
		return usageError{fmt.Errorf("--runtime %q: want fake, docker, kubernetes or auto", *runtime)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	var logger *slog.Logger
	switch opts := (&slog.HandlerOptions{Level: level}); *f.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return usageError{fmt.Errorf("--log-format %q: want text or json", *f.logFormat)}
	}
	if *f.keepStoppedContainers < 0 {
		return usageError{fmt.Errorf("--keep-stopped-containers %d: must be 0 or more", *f.keepStoppedContainers)}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, server.Config{
		Listen:                *listen,
		DataDir:               *dataDir,
		Database:              *f.database,
		AccountID:             *account,
		Region:                *region,
		DeletionDelay:         *deletionDelay,
		InactiveGrace:         *inactiveGrace,
		EnableReset:           *enableReset,
		CreateDefaultCluster:  *createDefault,
		SimDelay:              *simDelay,
		TaskRetention:         *taskRetention,
		ServiceHealthyAfter:   *serviceHealthyAfter,
		Runtime:               *runtime,
		VerifySigV4:           *verifySigV4,
		InsecureAllowRemote:   *insecureRemote,
		SimInstances:          *simInstances,
		DockerHostClusters:    hostClusters,
		Limits:                server.Limits{MaxConnections: *maxConns, RequestTimeout: *requestTimeout},
		KeepStoppedContainers: keepStopped(*f.keepStoppedContainers),
		ScalingInterval:       *f.scalingInterval,
		ScaleInWait:           *f.scaleInWait,
		ProvisioningTimeout:   *f.provisioningTimeout,
		Kubeconfig:            *f.kubeconfig,
		KubeNamespace:         *f.kubeNamespace,
		KubeMetadataListen:    *f.kubeMetadataListen,
		KubeMetadataURL:       *f.kubeMetadataURL,
		Logger:                logger,
	})
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		closePprof, err := servePprof(*pprofAddr, srv, logger)
		if err != nil {
			srv.Shutdown(context.Background())
			return fmt.Errorf("--pprof: %w", err)
		}
		defer closePprof()
	}
	<-ctx.Done()
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// envBool reads a boolean environment variable: 1, true, yes or on.
func envBool(name string) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "ecsd: ignoring %s=%q: not an integer\n", name, v)
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "ecsd: ignoring %s=%q: not a duration\n", name, v)
	}
	return def
}

// keepStopped maps --keep-stopped-containers to server.Config, where 0
// means the default and a negative count keeps none.
func keepStopped(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
