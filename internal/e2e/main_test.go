package e2e

import (
	"testing"

	"github.com/ecsd/ecsd/internal/pgtest"
)

// TestMain stops the PostgreSQL server the postgres_test.go tests start.
func TestMain(m *testing.M) { pgtest.Main(m) }
