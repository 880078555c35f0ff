package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnginesArePure keeps the decision engines beside reconcile pure: they
// import only the standard library, the SDK's model types, the domain and
// each other, and never read the clock or a global random source.
func TestEnginesArePure(t *testing.T) {
	const mod = "github.com/ecsd/ecsd/internal/"
	allowed := map[string]bool{
		"github.com/aws/aws-sdk-go-v2/service/ecs/types": true,
		mod + "ecs":                 true,
		mod + "reconcile/placement": true,
		mod + "reconcile/capacity":  true,
	}
	forbiddenStd := map[string]bool{"net/http": true, "os": true, "os/exec": true, "database/sql": true, "math/rand": true, "crypto/rand": true}
	pkgs := []string{"placement", "capacity", "daemon"}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, mod+"reconcile/"+p).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", p, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			std := !strings.Contains(strings.Split(imp, "/")[0], ".")
			if (std && forbiddenStd[imp]) || (!std && !allowed[imp]) {
				t.Errorf("reconcile/%s imports %s", p, imp)
			}
		}
		files, _ := filepath.Glob(filepath.Join("..", p, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"time.Now(", "time.Since(", "rand.Int", "rand.Float"} {
				if strings.Contains(string(src), bad) {
					t.Errorf("%s calls %s: time and randomness are inputs", f, bad)
				}
			}
		}
	}
}
