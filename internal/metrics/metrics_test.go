package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/store"
)

// counts is a store.Counter with fixed answers.
type counts struct {
	tasks    []store.TaskCount
	services []store.ServiceCount
	err      error
}

func (c counts) TaskCounts(context.Context) ([]store.TaskCount, error) { return c.tasks, c.err }
func (c counts) ServiceCounts(context.Context) ([]store.ServiceCount, error) {
	return c.services, c.err
}

// everything returns metrics in which every family has a series.
func everything(t *testing.T) *Metrics {
	t.Helper()
	m := New(nil)
	m.ObserveRequest(APIECS, "RunTask", "", time.Millisecond)
	m.ObserveCommit(3, time.Millisecond, errors.New("disk full"))
	m.PassFunc(LoopTaskSupervisor)(time.Millisecond, errors.New("store closed"))
	m.WatchQueue(LoopServiceScheduler, func() int { return 2 })
	m.LogBytesStored(10)
	m.WatchStore(counts{
		tasks:    []store.TaskCount{{LastStatus: "RUNNING", LaunchType: "FARGATE", Count: 4}},
		services: []store.ServiceCount{{Status: "ACTIVE", RolloutState: "COMPLETED", Count: 1}},
	})
	d := m.Driver("fake", stub{})
	_ = d.Start(t.Context(), driver.GroupSpec{ID: "g"})
	_ = d.Stop(t.Context(), "g", time.Second) // fails
	return m
}

func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// documented reads docs/metrics.md's tables: name -> type and labels.
func documented(t *testing.T) map[string]doc {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(ecsd_[a-z_]+)` \\| ([a-z]+) \\|([^|]*)\\|")
	out := map[string]doc{}
	for _, line := range strings.Split(string(b), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var labels []string
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		sort.Strings(labels)
		out[m[1]] = doc{typ: m[2], labels: labels}
	}
	if len(out) == 0 {
		t.Fatal("docs/metrics.md documents no ecsd_ metric")
	}
	return out
}

type doc struct {
	typ    string
	labels []string
}

// TestDocumented: docs/metrics.md documents exactly the ecsd_ metrics the
// registry has, with their types and labels.
func TestDocumented(t *testing.T) {
	docs := documented(t)
	got := gather(t, everything(t))
	for name, mf := range got {
		if !strings.HasPrefix(name, "ecsd_") {
			continue
		}
		d, ok := docs[name]
		if !ok {
			t.Errorf("%s is not documented in docs/metrics.md", name)
			continue
		}
		if typ := strings.ToLower(mf.GetType().String()); typ != d.typ {
			t.Errorf("%s is a %s; docs/metrics.md says %s", name, typ, d.typ)
		}
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		sort.Strings(labels)
		if !slices.Equal(labels, d.labels) {
			t.Errorf("%s has labels %v; docs/metrics.md says %v", name, labels, d.labels)
		}
	}
	for name := range docs {
		if got[name] == nil {
			t.Errorf("docs/metrics.md documents %s, which the registry does not have", name)
		}
	}
}

// TestDashboard: every query of the Grafana dashboard uses only metrics
// the registry has (ecsd_ ones documented), with labels they carry, and
// the dashboard shows every documented metric.
func TestDashboard(t *testing.T) {
	docs := documented(t)
	got := gather(t, everything(t))
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	ident := regexp.MustCompile(`\b((?:ecsd|go|process)_[a-zA-Z0-9_]+)\b(\{[^}]*\})?`)
	labelName := regexp.MustCompile(`([a-z_]+)\s*(?:=|!=|=~|!~)`)
	used := map[string]bool{}
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			ms := ident.FindAllStringSubmatch(tg.Expr, -1)
			if len(ms) == 0 {
				t.Errorf("panel %q: %q uses no metric", p.Title, tg.Expr)
			}
			for _, m := range ms {
				name := m[1]
				family := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && got[base] != nil && got[base].GetType() == dto.MetricType_HISTOGRAM {
						family = base
					}
				}
				mf := got[family]
				if mf == nil {
					t.Errorf("panel %q: %s is not a metric ecsd serves", p.Title, name)
					continue
				}
				if strings.HasPrefix(family, "ecsd_") {
					if _, ok := docs[family]; !ok {
						t.Errorf("panel %q: %s is not documented", p.Title, family)
					}
					used[family] = true
				}
				for _, l := range labelName.FindAllStringSubmatch(m[2], -1) {
					if !slices.Contains(docs[family].labels, l[1]) {
						t.Errorf("panel %q: %s has no label %s", p.Title, family, l[1])
					}
				}
			}
		}
	}
	if exprs == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for name := range docs {
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// TestHandler: the registry is served in the text format, and a store
// count that fails leaves the rest of the scrape intact.
func TestHandler(t *testing.T) {
	m := New(nil)
	m.ObserveRequest(APIECS, "ListClusters", "", time.Millisecond)
	m.ObserveRequest(APIECS, "DescribeServices", "ClusterNotFoundException", time.Millisecond)
	m.WatchStore(counts{err: errors.New("database is locked")})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	reqs := families["ecsd_api_requests_total"]
	if reqs == nil || len(reqs.GetMetric()) != 2 {
		t.Fatalf("ecsd_api_requests_total: %v", reqs)
	}
	if families["ecsd_tasks"] != nil {
		t.Errorf("ecsd_tasks served although the store could not count: %v", families["ecsd_tasks"])
	}
}

// stub is a driver without optional abilities; its Inspect knows no
// group and its Stop fails.
type stub struct{}

func (stub) Start(context.Context, driver.GroupSpec) error { return nil }
func (stub) Stop(context.Context, string, time.Duration) error {
	return errors.New("engine unreachable")
}
func (stub) Inspect(context.Context, string) (driver.GroupState, error) {
	return driver.GroupState{}, driver.ErrNotFound
}
func (stub) List(context.Context, map[string]string) ([]driver.GroupState, error) { return nil, nil }
func (stub) Remove(context.Context, string) error                                 { return nil }

// execStub runs processes too.
type execStub struct{ stub }

func (execStub) Exec(context.Context, string, string, driver.ExecOptions) (driver.ExecProcess, error) {
	return nil, driver.ErrNotRunning
}

// TestDriver: the wrapper counts calls and failures (not knowing a group
// is no failure) and keeps exactly the runtime's optional abilities.
func TestDriver(t *testing.T) {
	m := New(nil)
	d := m.Driver("docker", stub{})
	ctx := t.Context()
	_ = d.Start(ctx, driver.GroupSpec{ID: "g"})
	_ = d.Stop(ctx, "g", time.Second)
	_ = d.Stop(ctx, "g", time.Second)
	_, _ = d.Inspect(ctx, "g")
	if _, ok := d.(driver.Execer); ok {
		t.Error("the wrapper of a runtime without Exec has Exec")
	}
	ex, ok := m.Driver("docker", execStub{}).(driver.Execer)
	if !ok {
		t.Fatal("the wrapper of a runtime with Exec lost it")
	}
	if _, err := ex.Exec(ctx, "g", "app", driver.ExecOptions{}); !errors.Is(err, driver.ErrNotRunning) {
		t.Errorf("Exec through the wrapper: %v", err)
	}
	if _, ok := m.Driver("docker", execStub{}).(driver.LogReader); ok {
		t.Error("the wrapper has LogReader the runtime lacks")
	}
	got := gather(t, m)
	count := func(family, op string) float64 {
		for _, mt := range got[family].GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "operation" && lp.GetValue() == op {
					return mt.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	for _, c := range []struct {
		family, op string
		want       float64
	}{
		{"ecsd_runtime_operations_total", "start", 1},
		{"ecsd_runtime_operations_total", "stop", 2},
		{"ecsd_runtime_operations_total", "inspect", 1},
		{"ecsd_runtime_operation_failures_total", "stop", 2},
		{"ecsd_runtime_operation_failures_total", "inspect", 0},
		{"ecsd_runtime_operation_failures_total", "start", 0},
	} {
		if n := count(c.family, c.op); n != c.want {
			t.Errorf("%s{operation=%q} = %v, want %v", c.family, c.op, n, c.want)
		}
	}
}
