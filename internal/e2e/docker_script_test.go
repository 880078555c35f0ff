//go:build unix

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDockerServiceScript runs e2e/docker-service.sh: a service of a
// locally built HTTP server image through the AWS CLI, on real
// containers, from create to rollout to delete, with no container left.
func TestDockerServiceScript(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the Docker service script in -short mode: it takes about 45s")
	}
	docker(t) // skips without an Engine
	for _, tool := range []string{"docker", "aws", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, root, ecsdBinary(t), "bash", filepath.Join(root, "e2e", "docker-service.sh"))
}

// TestDockerComposeScript runs e2e/docker-compose.sh: ecsd's own image,
// built locally, started with deploy/docker-compose.yml, runs a task on the
// host's Engine and adopts it again after a restart.
func TestDockerComposeScript(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the docker-compose script in -short mode: it takes about 20s")
	}
	docker(t) // skips without an Engine
	for _, tool := range []string{"docker", "aws", "curl", "go", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed: %v", tool, err)
		}
	}
	if exec.Command("docker", "compose", "version").Run() != nil {
		if _, err := exec.LookPath("docker-compose"); err != nil {
			t.Skip("skipping: neither docker compose nor docker-compose is installed")
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The script opens an ECS Exec session into a task through ecsd's
	// container, with the real plugin.
	path := "PATH=" + sessionManagerPlugin(t) + string(os.PathListSeparator) + os.Getenv("PATH")
	runScript(t, root, "", "env", path, "bash", filepath.Join(root, "e2e", "docker-compose.sh")) // builds its own image
}
