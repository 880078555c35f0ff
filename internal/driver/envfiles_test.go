package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvFile(t *testing.T) {
	got, err := parseEnvFile([]byte("A=1\n  # indented comment\nB=\n=nokey\nA=2\nC= spaced \n  D=lead\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{{Name: "A", Value: "2"}, {Name: "B", Value: ""}, {Name: "C", Value: " spaced "}, {Name: "D", Value: "lead"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestReadEnvFiles: the first file that sets a name wins among files
// (the ECS agent's merge); paths and file:// URLs; relative paths and
// missing files are errors.
func TestReadEnvFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	if err := os.WriteFile(a, []byte("X=from-a\nY=a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("X=from-b\nZ=b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEnvFiles([]string{a, "file://" + b})
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{{Name: "X", Value: "from-a"}, {Name: "Y", Value: "a"}, {Name: "Z", Value: "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"rel/a.env", filepath.Join(dir, "missing.env"), "file://elsewhere/x.env"} {
		if _, err := ReadEnvFiles([]string{bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
