// Command ecsd is Amazon ECS on your own machine. It reads flags and
// environment into a server.Config and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/server"
)

func main() {
	args, cmd := os.Args[1:], run
	if len(args) > 0 && args[0] == "logs" { // ecsd logs TASK [CONTAINER]
		args, cmd = args[1:], logsMain
	}
	if err := cmd(args); err != nil {
		fmt.Fprintln(os.Stderr, "ecsd:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	fs := flag.NewFlagSet("ecsd", flag.ContinueOnError)
	listen := fs.String("listen", env("ECSD_LISTEN", "127.0.0.1:8080"), "address to serve the ECS API on (env ECSD_LISTEN)")
	dataDir := fs.String("data-dir", env("ECSD_DATA_DIR", "ecsd-data"), "directory for the durable state (env ECSD_DATA_DIR)")
	account := fs.String("account-id", env("ECSD_ACCOUNT_ID", "000000000000"), "account for requests whose access key is not a 12-digit account id (env ECSD_ACCOUNT_ID)")
	region := fs.String("region", env("ECSD_REGION", "us-east-1"), "region for requests without a SigV4 credential scope (env ECSD_REGION)")
	logLevel := fs.String("log-level", env("ECSD_LOG_LEVEL", "info"), "debug, info, warn or error; debug logs one line per request (env ECSD_LOG_LEVEL)")
	deletionDelay := fs.Duration("deletion-delay", envDuration("ECSD_DELETION_DELAY", time.Hour),
		"how long an unused DELETE_IN_PROGRESS task definition waits before it is deleted (env ECSD_DELETION_DELAY)")
	inactiveGrace := fs.Duration("inactive-grace", envDuration("ECSD_INACTIVE_GRACE", 0),
		"window after DeregisterTaskDefinition in which the INACTIVE revision may still start tasks and be deployed; AWS admits up to 10m; 0 = strict (env ECSD_INACTIVE_GRACE)")
	enableReset := fs.Bool("enable-reset", envBool("ECSD_ENABLE_RESET"), "serve POST /moto-api/reset, which deletes all state (env ECSD_ENABLE_RESET=1)")
	simDelay := fs.Duration("sim-delay", envDuration("ECSD_SIM_DELAY", 0),
		"how long a task stays in each lifecycle state on the simulated runtime, e.g. 2s for demos (env ECSD_SIM_DELAY)")
	taskRetention := fs.Duration("task-retention", envDuration("ECSD_TASK_RETENTION", time.Hour),
		"how long STOPPED tasks stay describable before they are deleted (env ECSD_TASK_RETENTION)")
	serviceHealthyAfter := fs.Duration("service-healthy-after", envDuration("ECSD_SERVICE_HEALTHY_AFTER", 0),
		"how long a service task without container health checks runs before the scheduler counts it healthy; ECS waits 40s (env ECSD_SERVICE_HEALTHY_AFTER)")
	createDefault := fs.Bool("create-default-cluster", envBool("ECSD_CREATE_DEFAULT_CLUSTER"),
		"create the default cluster when RunTask or CreateService names no cluster and it does not exist, as the ECS console and agent do (env ECSD_CREATE_DEFAULT_CLUSTER=1)")
	runtime := fs.String("runtime", env("ECSD_RUNTIME", server.RuntimeFake),
		"where tasks run: fake (the simulated runtime), docker (containers on the local Docker Engine), kubernetes (pods on the cluster --kubeconfig names) or auto (docker when an Engine answers, else fake) (env ECSD_RUNTIME)")
	kubeconfig := fs.String("kubeconfig", env("ECSD_KUBECONFIG", ""),
		"with --runtime kubernetes, the kubeconfig `FILE` of the cluster; empty: $KUBECONFIG, ~/.kube/config, or the in-cluster service account (env ECSD_KUBECONFIG)")
	kubeNamespace := fs.String("kube-namespace", env("ECSD_KUBE_NAMESPACE", server.DefaultKubeNamespace),
		"with --runtime kubernetes, the namespace all tasks' pods run in, created if missing (env ECSD_KUBE_NAMESPACE)")
	verifySigV4 := fs.String("verify-sigv4", env("ECSD_VERIFY_SIGV4", ""),
		"credentials `FILE` in the AWS shared-credentials format: every request must then be SigV4-signed by one of its keys (env ECSD_VERIFY_SIGV4)")
	insecureRemote := fs.Bool("insecure-allow-remote", envBool("ECSD_INSECURE_ALLOW_REMOTE"),
		"let the docker runtime serve a non-loopback --listen without --verify-sigv4: anyone who can reach it is root on this host (env ECSD_INSECURE_ALLOW_REMOTE=1)")
	maxConns := fs.Int("max-connections", envInt("ECSD_MAX_CONNECTIONS", server.DefaultLimits.MaxConnections),
		"most client connections open at once; more wait in the listen backlog until one closes (env ECSD_MAX_CONNECTIONS)")
	requestTimeout := fs.Duration("request-timeout", envDuration("ECSD_REQUEST_TIMEOUT", server.DefaultLimits.RequestTimeout),
		"how long one request may wait for the store before it answers ServerException (env ECSD_REQUEST_TIMEOUT)")
	simInstances := fs.Int("sim-instances", envInt("ECSD_SIM_INSTANCES", 0),
		"give every cluster N simulated container instances (c5.large, in distinct availability zones) for EC2 tasks; the cluster tag ecsd:sim-instances overrides it (env ECSD_SIM_INSTANCES)")
	dockerHostClusters := fs.String("docker-host-clusters", env("ECSD_DOCKER_HOST_CLUSTERS", ""),
		"with --runtime docker, the comma-separated clusters the Docker host registers in as a container instance; empty: every cluster (env ECSD_DOCKER_HOST_CLUSTERS)")
	pprofAddr := fs.String("pprof", env("ECSD_PPROF", ""),
		"serve Go's profiler and expvar (store commit statistics) on this `ADDR`, e.g. 127.0.0.1:6060; for debugging and benchmarks (env ECSD_PPROF)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *simInstances < 0 || *simInstances > control.MaxSimInstances {
		return fmt.Errorf("--sim-instances %d: must be between 0 and %d", *simInstances, control.MaxSimInstances)
	}
	var hostClusters []string
	for _, c := range strings.Split(*dockerHostClusters, ",") {
		if c = strings.TrimSpace(c); c != "" {
			hostClusters = append(hostClusters, c)
		}
	}
	if *maxConns < 1 || *requestTimeout <= 0 {
		return fmt.Errorf("--max-connections %d, --request-timeout %s: both must be positive", *maxConns, *requestTimeout)
	}
	if *inactiveGrace < 0 || *inactiveGrace > control.MaxInactiveGrace {
		return fmt.Errorf("--inactive-grace %s: must be between 0 and %s, the window AWS documents", *inactiveGrace, control.MaxInactiveGrace)
	}
	switch *runtime {
	case server.RuntimeFake, server.RuntimeDocker, server.RuntimeKubernetes, server.RuntimeAuto:
	default:
		return fmt.Errorf("--runtime %q: want fake, docker, kubernetes or auto", *runtime)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, server.Config{
		Listen:               *listen,
		DataDir:              *dataDir,
		AccountID:            *account,
		Region:               *region,
		DeletionDelay:        *deletionDelay,
		InactiveGrace:        *inactiveGrace,
		EnableReset:          *enableReset,
		CreateDefaultCluster: *createDefault,
		SimDelay:             *simDelay,
		TaskRetention:        *taskRetention,
		ServiceHealthyAfter:  *serviceHealthyAfter,
		Runtime:              *runtime,
		VerifySigV4:          *verifySigV4,
		InsecureAllowRemote:  *insecureRemote,
		SimInstances:         *simInstances,
		DockerHostClusters:   hostClusters,
		Kubeconfig:           *kubeconfig,
		KubeNamespace:        *kubeNamespace,
		Limits:               server.Limits{MaxConnections: *maxConns, RequestTimeout: *requestTimeout},
		Logger:               logger,
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
