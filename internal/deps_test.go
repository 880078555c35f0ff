package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces the layering of DESIGN.md: the protocol,
// codec and domain never reach up into use-cases or storage, and use-cases
// never reach the protocol.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/ecsd/ecsd/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ecsd/ecsd/internal/"
	forbidden := map[string][]string{
		"ecs": {"awsjson", "wire", "api", "control", "store", "worker", "server", "net/http"},
		// The CloudWatch Logs domain sits beside ecs, as low.
		"cwlogs":      {"awsjson", "wire", "api", "control", "store", "worker", "server", "net/http", "driver"},
		"wire":        {"awsjson", "api", "control", "store", "worker", "server", "ecs", "net/http"},
		"awsjson":     {"api", "control", "store", "worker", "server"},
		"control":     {"awsjson", "api", "worker", "server", "net/http", "driver"},
		"api":         {"store", "worker", "server"},
		"store":       {"awsjson", "wire", "api", "control", "worker", "server", "net/http"},
		"sqlitestore": {"awsjson", "wire", "api", "control", "worker", "server", "net/http"},
		"pgstore":     {"awsjson", "wire", "api", "control", "worker", "server", "net/http"},
		"worker":      {"awsjson", "api", "control", "server", "net/http"},
		"records":     {"awsjson", "api", "control", "worker", "server", "net/http", "driver"},
		"reconcile":   {"awsjson", "wire", "api", "control", "store", "worker", "server", "net/http", "driver", "records"},
		// The pure planners beside reconcile (placement, DAEMON,
		// capacity) take their inputs in and return plans: no store, no
		// records, no I/O; memberOf expressions arrive compiled.
		"placement": {"awsjson", "wire", "api", "control", "store", "sqlitestore", "pgstore", "worker", "server", "net/http", "driver", "records", "clusterquery"},
		"daemon":    {"awsjson", "wire", "api", "control", "store", "sqlitestore", "pgstore", "worker", "server", "net/http", "driver", "records", "clusterquery"},
		"capacity":  {"awsjson", "wire", "api", "control", "store", "sqlitestore", "pgstore", "worker", "server", "net/http", "driver", "records", "clusterquery"},
		// The cluster query language is the standard library only.
		"clusterquery": {"awsjson", "wire", "api", "control", "store", "worker", "server", "net/http", "driver", "records", "reconcile", "ecs"},
		// The metadata endpoints read tasks and the runtime; they are not
		// the ECS API and never reach its protocol, use-cases or loops.
		"metadata": {"awsjson", "wire", "api", "control", "worker", "server"},
		// ECS Exec's sessions speak the data-channel protocol to a
		// runtime through the driver seam only, never to Docker or
		// Kubernetes, and know nothing of ECS above it.
		"execsession": {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile",
			"dockerdriver", "fakedriver", "kubedriver", "metadata", "github.com/docker/docker", "k8s.io/client-go"},
		// Metrics count what the other layers report through functions
		// the server wires in; they never reach into those layers.
		"metrics": {"awsjson", "wire", "api", "control", "worker", "server", "ecs", "records", "reconcile",
			"sqlitestore", "dockerdriver", "fakedriver", "execsession", "metadata"},
		// The web console is a client of the ECS API on the same
		// listener: it never reaches the store, the use-cases or the
		// loops, and sees the runtime only through driver.LogReader.
		"console": {"awsjson", "wire", "api", "control", "store", "sqlitestore", "worker", "server", "records", "reconcile",
			"dockerdriver", "fakedriver", "kubedriver", "metadata", "execsession", "github.com/docker/docker", "k8s.io/client-go"},
		// Drivers know containers, not ECS.
		"driver":       {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile"},
		"fakedriver":   {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile"},
		"drivertest":   {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile"},
		"dockerdriver": {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile", "metadata"},
		"kubedriver": {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile", "metadata",
			"dockerdriver", "github.com/docker/docker"},
		"kubetest": {"awsjson", "wire", "api", "control", "store", "worker", "server", "ecs", "records", "reconcile", "metadata",
			"dockerdriver"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		name := pkg[strings.LastIndex(pkg, "/")+1:]
		for _, imp := range fields[1:] {
			for _, bad := range forbidden[name] {
				if imp == mod+bad || strings.HasPrefix(imp, mod+bad+"/") || imp == bad {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
