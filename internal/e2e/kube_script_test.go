package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
)

// TestKubeScripts runs e2e/awscli-kube.sh, the AWS CLI against ecsd on
// the kubernetes runtime, on the tier-1 cluster (kwok nodes).
func TestKubeScripts(t *testing.T) {
	c := kubetest.Start(t)
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skipf("skipping: aws is not installed: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ns := c.Namespace(t)
	runScriptEnv(t, root, ecsdBinary(t), []string{"KUBECONFIG=" + c.Kubeconfig, "ECSD_KUBE_NAMESPACE=" + ns},
		"bash", filepath.Join(root, "e2e", "awscli-kube.sh"))
}
