// Package metrics is ecsd's Prometheus instrumentation: one registry of
// its own (never the process-wide default, so two servers in one test
// binary never share counters), the collectors every layer reports to
// through a function the server wires in (the protocol's ObserveFunc, the
// store's CommitFunc, the loops' PassFunc), a runtime wrapper, and the
// gauges computed at scrape time from the store's indexed counts.
//
// Every metric is documented in docs/metrics.md; TestDocumented holds the
// two to each other. The package knows no ECS rules and must never import
// the protocol, the api, the use-cases, the loops or the server.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ecsd/ecsd/internal/store"
)

// Loops, as the loop label names them.
const (
	LoopServiceScheduler = "service_scheduler"
	LoopTaskSupervisor   = "task_supervisor"
)

// APIs, as the api label names them.
const (
	APIECS = "ecs"
	// APILogs is the CloudWatch Logs API served on the same listener.
	APILogs = "logs"
)

// latencyBuckets cover a point read on SQLite (tens of microseconds) to a
// request stuck behind a locked database (the 30s request timeout).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// countTimeout bounds the store counts one scrape waits for.
const countTimeout = 5 * time.Second

// Metrics is one server's instrumentation.
type Metrics struct {
	reg    *prometheus.Registry
	logger *slog.Logger

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec

	commitWrites   prometheus.Histogram
	commitDuration prometheus.Histogram
	commitFailures prometheus.Counter

	passDuration *prometheus.HistogramVec
	passFailures *prometheus.CounterVec

	runtimeOps      *prometheus.CounterVec
	runtimeFailures *prometheus.CounterVec
	runtimeDuration *prometheus.HistogramVec

	logBytes prometheus.Counter
}

// New returns a registry with ecsd's metrics and Go's and the process's
// standard ones (go_*, process_*).
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		logger: logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsd_api_requests_total",
			Help: "Requests answered, by API, operation (\"\" for an unknown target) and error code (\"\" for success).",
		}, []string{"api", "operation", "error_code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecsd_api_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer written, by API and operation.",
			Buckets: latencyBuckets,
		}, []string{"api", "operation"}),
		commitWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ecsd_store_commit_writes",
			Help:    "Write calls each store transaction carried (group commit: they share one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 .. 256
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ecsd_store_commit_duration_seconds",
			Help:    "Time each store transaction took, from BEGIN to the end of COMMIT.",
			Buckets: latencyBuckets,
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecsd_store_commit_failures_total",
			Help: "Store transactions that failed as a whole (BEGIN, a savepoint or COMMIT failed).",
		}),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecsd_worker_pass_duration_seconds",
			Help:    "Time each pass of a background loop took: the service scheduler's over one service, the task supervisor's over every live task.",
			Buckets: latencyBuckets,
		}, []string{"loop"}),
		passFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsd_worker_pass_failures_total",
			Help: "Passes of a background loop that failed (and are retried).",
		}, []string{"loop"}),
		runtimeOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsd_runtime_operations_total",
			Help: "Calls to the container runtime, by runtime (fake, docker) and operation (start, stop, inspect, list, remove).",
		}, []string{"runtime", "operation"}),
		runtimeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecsd_runtime_operation_failures_total",
			Help: "Calls to the container runtime that failed (a group the runtime does not know is an answer, not a failure).",
		}, []string{"runtime", "operation"}),
		runtimeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecsd_runtime_operation_duration_seconds",
			Help:    "Time each call to the container runtime took.",
			Buckets: latencyBuckets,
		}, []string{"runtime", "operation"}),
		logBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecsd_log_bytes_stored_total",
			Help: "Bytes of container output (awslogs) stored for the CloudWatch Logs API.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration,
		m.commitWrites, m.commitDuration, m.commitFailures,
		m.passDuration, m.passFailures,
		m.runtimeOps, m.runtimeFailures, m.runtimeDuration,
		m.logBytes,
	)
	return m
}

// Registry is where every metric of this server is registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics, as the scraper asks). A store count that fails is logged
// and left out; the rest of the scrape is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{m.logger},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		// Scrapes are cheap, but a scraper gone mad should not stack
		// them up behind the store.
		MaxRequestsInFlight: 4,
	})
}

// ObserveRequest counts one answered request of api.
func (m *Metrics) ObserveRequest(api, operation, errorCode string, took time.Duration) {
	m.requests.WithLabelValues(api, operation, errorCode).Inc()
	m.requestDuration.WithLabelValues(api, operation).Observe(took.Seconds())
}

// ObserveCommit counts one store transaction; its signature is
// sqlitestore.CommitFunc's.
func (m *Metrics) ObserveCommit(writes int, took time.Duration, err error) {
	m.commitWrites.Observe(float64(writes))
	m.commitDuration.Observe(took.Seconds())
	if err != nil {
		m.commitFailures.Inc()
	}
}

// PassFunc returns what a loop calls after each pass.
func (m *Metrics) PassFunc(loop string) func(took time.Duration, err error) {
	d, f := m.passDuration.WithLabelValues(loop), m.passFailures.WithLabelValues(loop)
	return func(took time.Duration, err error) {
		d.Observe(took.Seconds())
		if err != nil {
			f.Inc()
		}
	}
}

// WatchQueue reports depth() as the loop's queue depth at each scrape.
func (m *Metrics) WatchQueue(loop string, depth func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "ecsd_worker_queue_depth",
		Help:        "Keys waiting in a loop's work queue for a worker.",
		ConstLabels: prometheus.Labels{"loop": loop},
	}, func() float64 { return float64(depth()) }))
}

// LogBytesStored counts bytes of container output the Logs API stored.
// It is the hook for the CloudWatch Logs store to call as it ingests.
func (m *Metrics) LogBytesStored(n int64) {
	if n > 0 {
		m.logBytes.Add(float64(n))
	}
}

// WatchStore reports the store's counts of tasks and services at each
// scrape.
func (m *Metrics) WatchStore(c store.Counter) {
	m.reg.MustRegister(&storeCollector{counter: c})
}

var (
	tasksDesc = prometheus.NewDesc("ecsd_tasks",
		"Tasks stored, STOPPED ones still describable included, by last status and launch type.",
		[]string{"last_status", "launch_type"}, nil)
	servicesDesc = prometheus.NewDesc("ecsd_services",
		"Services that are not INACTIVE, by status and the rollout state of their PRIMARY deployment (\"\" without one).",
		[]string{"status", "rollout_state"}, nil)
)

// storeCollector asks the store for its counts at each scrape: they come
// from covering indexes (store.Counter), so a scrape costs the same with
// ten tasks or ten thousand.
type storeCollector struct{ counter store.Counter }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksDesc
	ch <- servicesDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	if tasks, err := c.counter.TaskCounts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(tasksDesc, err)
	} else {
		for _, t := range tasks {
			ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(t.Count), t.LastStatus, t.LaunchType)
		}
	}
	if services, err := c.counter.ServiceCounts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(servicesDesc, err)
	} else {
		for _, s := range services {
			ch <- prometheus.MustNewConstMetric(servicesDesc, prometheus.GaugeValue, float64(s.Count), s.Status, s.RolloutState)
		}
	}
}

// slogPrinter is promhttp's error log on ecsd's logger.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.l.Warn("metrics scrape", "err", slogValues(v))
}

func slogValues(v []any) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}
