package internal_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The layering of ecsd, as an allow-list: every package of the module
// names the packages of the module it may import, and which of the
// heavyweight outside dependencies (anything not in the standard library,
// and net/http). An import that is not listed fails the test, and so does
// a package that is not listed at all: a new package, or a new arrow
// between two, is a decision written here, never an accident. Entries
// ending in "/..." allow a path and everything below it. The standard
// library apart from net/http is allowed everywhere.
//
// Floors, from the bottom; a floor imports only floors below it:
//
//  1. Leaves, standard library only: the cluster query language
//     (ecs/clusterquery), the driver interface (driver) and the change
//     notices that connect use-cases and loops (notify).
//  2. Domain: ecs (ARNs, statuses, validation, the error vocabulary) over
//     the SDK's model types; cwlogs beside it for CloudWatch Logs.
//  3. Pure planning beside reconcile: reconcile (the service scheduler's
//     plan), placement, capacity (managed scaling, strategies), daemon,
//     service (construction and defaults) and servicedeployment (its
//     state machine). Inputs in, plans out: domain only, no store, no
//     records, no clock. The codec (wire) sits on this floor too, over the
//     SDK and smithy, and the store interface (store) over the domain.
//  4. Translation and backends: records (store rows <-> ECS documents),
//     the stores (sqlitestore, pgstore) and the drivers (fakedriver,
//     dockerdriver, kubedriver), which know containers, not ECS.
//  5. Use-cases and loops: control (validate, one transaction, notify)
//     and worker; beside them the metadata endpoints, ECS Exec sessions,
//     metrics and the console, which reach the runtime through driver only.
//  6. Protocol: awsjson (the one error writer, net/http) and api.
//  7. Wiring: server, and cmd/ecsd above it.
//
// Test support (storetest, drivertest, dockertest, kubetest, pgtest,
// sdkhttp, reliability) sits beside the floor it tests; e2e and bench are
// clients of everything.
//
// tailscale's tstest/deptest checks one binary's dependencies against a
// deny-list and that each listed package still exists; this keeps the
// last habit (a rule naming a package that is gone fails) and turns the
// list around, so a forbidden arrow needs no foresight.
var layers = map[string][]string{
	// Floor 1 (internal itself holds only this test).
	"internal":                            {},
	"internal/ecs/clusterquery":           {},
	"internal/driver":                     {},
	"internal/notify":                     {},
	"internal/wire/genmodel":              {},
	"internal/store/pgstore/internal/gen": {},

	// Floor 2.
	"internal/ecs":    {sdkTypes},
	"internal/cwlogs": {ecs},

	// Floor 3.
	"internal/reconcile":                   {ecs, sdkTypes},
	"internal/reconcile/placement":         {ecs, sdkTypes},
	"internal/reconcile/capacity":          {placement, sdkTypes},
	"internal/reconcile/daemon":            {ecs, placement},
	"internal/reconcile/service":           {ecs, sdkTypes},
	"internal/reconcile/servicedeployment": {ecs, sdkTypes},
	"internal/wire":                        {sdk + "/...", smithy + "/..."},
	"internal/store":                       {ecs},

	// Floor 4.
	"internal/records":             {ecs, clusterquery, placement, store, wire, sdkTypes},
	"internal/store/sqlitestore":   {store, "modernc.org/sqlite/..."},
	"internal/store/pgstore":       {store, "github.com/jackc/pgx/v5/..."},
	"internal/driver/fakedriver":   {driver},
	"internal/driver/dockerdriver": {driver, docker, "github.com/docker/go-connections/...", "github.com/containerd/errdefs"},
	"internal/driver/kubedriver":   {driver, "k8s.io/api/...", "k8s.io/apimachinery/...", "k8s.io/client-go/..."},

	// Floor 5.
	"internal/control": {ecs, clusterquery, cwlogs, store, records, wire, sdkTypes, sdk + "/service/cloudwatchlogs/...",
		"internal/reconcile", capacity, service, servicedeployment, "internal/notify"},
	"internal/worker": {ecs, cwlogs, store, records, driver, sdkTypes,
		"internal/reconcile", placement, capacity, daemon, servicedeployment, "internal/notify"},
	"internal/metadata":    {ecs, store, records, driver, sdkTypes, netHTTP},
	"internal/execsession": {driver, netHTTP, "github.com/gorilla/websocket"},
	"internal/metrics":     {driver, store, netHTTP, "github.com/prometheus/client_golang/..."},
	"internal/console":     {driver, netHTTP},

	// Floor 6.
	"internal/awsjson": {ecs, wire, netHTTP},
	"internal/api":     {"internal/awsjson", "internal/control", ecs, wire, sdk + "/service/ecs", sdkTypes},

	// Floor 7.
	"internal/server": {"internal/...", docker, "k8s.io/client-go/...", sdk + "/aws", sdkTypes, netHTTP},
	"cmd/ecsd":        {"internal/control", "internal/server", store, "internal/store/sqlitestore", driver, "internal/driver/dockerdriver", docker, netHTTP},

	// Test support.
	"internal/store/storetest":                {store, goCmp},
	"internal/driver/drivertest":              {driver},
	"internal/driver/dockerdriver/dockertest": {docker},
	"internal/driver/kubedriver/kubetest":     {"k8s.io/api/...", "k8s.io/apimachinery/...", "k8s.io/client-go/...", netHTTP},
	"internal/pgtest":                         {"github.com/jackc/pgx/v5/..."},
	"internal/sdkhttp":                        {sdk + "/aws/transport/http", netHTTP},
	"internal/reliability":                    {"internal/sdkhttp", sdk + "/...", smithy + "/...", netHTTP},
	"internal/e2e":                            {}, // its tests import what they drive; test files are not checked
	"bench/...":                               {all},
}

const (
	mod = "github.com/ecsd/ecsd/"
	all = "..."

	ecs               = "internal/ecs"
	clusterquery      = "internal/ecs/clusterquery"
	cwlogs            = "internal/cwlogs"
	store             = "internal/store"
	records           = "internal/records"
	wire              = "internal/wire"
	driver            = "internal/driver"
	placement         = "internal/reconcile/placement"
	capacity          = "internal/reconcile/capacity"
	daemon            = "internal/reconcile/daemon"
	service           = "internal/reconcile/service"
	servicedeployment = "internal/reconcile/servicedeployment"

	sdk      = "github.com/aws/aws-sdk-go-v2"
	sdkTypes = sdk + "/service/ecs/types"
	smithy   = "github.com/aws/smithy-go"
	docker   = "github.com/docker/docker/..."
	netHTTP  = "net/http/..."
	goCmp    = "github.com/google/go-cmp/..."
)

// allowed reports whether rule (a path, a path/..., or all) admits imp.
func allowed(rule, imp string) bool {
	if rule == all {
		return true
	}
	if base, ok := strings.CutSuffix(rule, "/..."); ok {
		return imp == base || strings.HasPrefix(imp, base+"/")
	}
	return imp == rule
}

// tracked reports whether an import is one the allow-list governs: the
// module's own packages, anything outside the standard library (its
// first element has a dot), and net/http.
func tracked(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return strings.HasPrefix(imp, mod) || strings.Contains(first, ".") || allowed(netHTTP, imp)
}

// rulesFor is the allow-list of a package (its own entry, else the
// nearest "/..." entry above it), and whether it has one.
func rulesFor(pkg string) ([]string, string, bool) {
	if r, ok := layers[pkg]; ok {
		return r, pkg, true
	}
	for key, r := range layers {
		if base, ok := strings.CutSuffix(key, "/..."); ok && (pkg == base || strings.HasPrefix(pkg, base+"/")) {
			return r, key, true
		}
	}
	return nil, "", false
}

type listed struct {
	ImportPath string
	Imports    []string
}

// packages lists the module's packages with their (non-test) imports.
func packages(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", mod+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportDirection enforces the allow-list above.
func TestImportDirection(t *testing.T) {
	pkgs := packages(t)
	exists := map[string]bool{}
	for _, p := range pkgs {
		exists[strings.TrimPrefix(p.ImportPath, mod)] = true
	}
	used := map[string]bool{}
	for _, p := range pkgs {
		pkg := strings.TrimPrefix(p.ImportPath, mod)
		rules, key, ok := rulesFor(pkg)
		if !ok {
			t.Errorf("%s is not in the allow-list of internal/deps_test.go: give it its floor and the packages it may import", pkg)
			continue
		}
		for _, imp := range p.Imports {
			if !tracked(imp) {
				continue
			}
			rel := strings.TrimPrefix(imp, mod)
			i := slices.IndexFunc(rules, func(r string) bool { return allowed(r, rel) })
			if i < 0 {
				t.Errorf("%s imports %s, which its entry %q in internal/deps_test.go does not allow", pkg, imp, key)
				continue
			}
			used[key+" -> "+rules[i]] = true
		}
	}
	// A rule that names a package of the module that no longer exists
	// is stale: the package moved and the rule protects nothing.
	for key, rules := range layers {
		for _, name := range append([]string{key}, rules...) {
			if name == all || !strings.HasPrefix(name, "internal/") && !strings.HasPrefix(name, "cmd/") && !strings.HasPrefix(name, "bench/") {
				continue
			}
			base, wild := strings.CutSuffix(name, "/...")
			found := exists[base]
			if wild {
				for p := range exists {
					found = found || strings.HasPrefix(p, base+"/")
				}
			}
			if !found {
				t.Errorf("internal/deps_test.go names %s, which is no package of the module any more", name)
			}
		}
	}
	// Arrows nobody uses are allowed, not required; list them so that an
	// allow-list that has grown wider than the code can be trimmed.
	var unused []string
	for key, rules := range layers {
		for _, r := range rules {
			if !used[key+" -> "+r] {
				unused = append(unused, key+" -> "+r)
			}
		}
	}
	sort.Strings(unused)
	if testing.Verbose() && len(unused) > 0 {
		t.Logf("allowed but unused arrows:\n  %s", strings.Join(unused, "\n  "))
	}
}

// TestAllowListCatchesForbiddenArrows proves the checker fails on what
// the old deny-list missed: an arrow nobody listed, a package nobody
// listed, and a lookalike path that only shares a prefix.
func TestAllowListCatchesForbiddenArrows(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		want     bool
	}{
		{"internal/reconcile/service", mod + "internal/ecs", true},
		{"internal/reconcile/service", mod + "internal/store", false},
		{"internal/reconcile/service", mod + "internal/records", false},
		{"internal/reconcile/placement", mod + "internal/ecs/clusterquery", false},
		{"internal/control", mod + "internal/worker", false},
		{"internal/control", mod + "internal/awsjson", false},
		{"internal/control", netHTTP[:len(netHTTP)-4], false},
		{"internal/worker", mod + "internal/control", false},
		{"internal/driver/fakedriver", mod + "internal/ecs", false},
		{"internal/console", mod + "internal/store", false},
		{"internal/store", "modernc.org/sqlite", false},
		{"internal/store/sqlitestore", "modernc.org/sqlite/lib", true},
		{"internal/store/sqlitestore", "modernc.org/sqlitex", false},
		{"internal/awsjson", "net/http/httputil", true},
		{"internal/server", mod + "internal/worker", true},
		{"internal/api", mod + "internal/store", false},
	} {
		rules, _, ok := rulesFor(tc.pkg)
		if !ok {
			t.Fatalf("%s has no entry", tc.pkg)
		}
		got := !tracked(tc.imp) || slices.ContainsFunc(rules, func(r string) bool { return allowed(r, strings.TrimPrefix(tc.imp, mod)) })
		if got != tc.want {
			t.Errorf("%s importing %s: allowed %v, want %v", tc.pkg, tc.imp, got, tc.want)
		}
	}
	if _, _, ok := rulesFor("internal/brandnew"); ok {
		t.Error("a package with no entry has rules")
	}
	if tracked("strings") || !tracked("net/http") || !tracked("github.com/x/y") {
		t.Error("tracked: the standard library apart from net/http is free, the rest is governed")
	}
}

// pure are the planning packages whose contract is inputs in, plan out:
// the same input always gives the same plan.
var pure = []string{"internal/reconcile", placement, capacity, daemon, service, servicedeployment}

// TestPurePackagesReadNoClock enforces what an import list cannot: the
// pure planners read no clock and draw no random numbers (now and a
// random source are arguments), and reach no file, process or network.
func TestPurePackagesReadNoClock(t *testing.T) {
	forbiddenImports := []string{"os", "os/exec", "math/rand", "math/rand/v2", "crypto/rand", "net", "syscall", "log", "log/slog"}
	clock := []string{"Now", "Since", "Until", "After", "AfterFunc", "Sleep", "Tick", "NewTimer", "NewTicker"}
	for _, pkg := range pure {
		files, err := filepath.Glob(filepath.Join(strings.TrimPrefix(pkg, "internal/"), "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", pkg, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			timeName := ""
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if slices.Contains(forbiddenImports, path) {
					t.Errorf("%s imports %s: a pure planner takes what it needs as input", name, path)
				}
				if path == "time" {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name
					}
				}
			}
			if timeName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName && slices.Contains(clock, sel.Sel.Name) {
					t.Errorf("%s calls time.%s: a pure planner is given now", name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
