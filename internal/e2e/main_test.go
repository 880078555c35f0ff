package e2e

import (
	"os"
	"testing"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/pgtest"
)

// TestMain stops the servers tests start on first use and share: the
// Kubernetes test cluster (kube_test.go) and the PostgreSQL server
// (postgres_test.go).
func TestMain(m *testing.M) {
	code := kubetest.Main(m)
	pgtest.CloseShared()
	os.Exit(code)
}
