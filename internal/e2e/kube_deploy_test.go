package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/server"
)

// deployManifests decodes deploy/kubernetes/*.yaml into typed objects.
func deployManifests(t *testing.T) []runtime.Object {
	t.Helper()
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("deploy/kubernetes: %v (%d files)", err, len(files))
	}
	var objs []runtime.Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			doc, err := dec.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

// applyDeploy creates deploy/kubernetes's objects on the cluster, moved
// into namespace ns (and cluster-scoped names suffixed with it), so that
// tests sharing the cluster do not collide. It returns the ServiceAccount's
// user name.
func applyDeploy(t *testing.T, client kubernetes.Interface, ns string) string {
	t.Helper()
	ctx := t.Context()
	sa := ""
	kinds := map[string]bool{}
	for _, obj := range deployManifests(t) {
		var err error
		switch o := obj.(type) {
		case *corev1.Namespace:
			o.Name = ns
			_, err = client.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			o.Namespace = ns
			sa = "system:serviceaccount:" + ns + ":" + o.Name
			_, err = client.CoreV1().ServiceAccounts(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			o.Namespace = ns
			for i, r := range o.Rules {
				for j, n := range r.ResourceNames {
					if n == server.DefaultKubeNamespace {
						o.Rules[i].ResourceNames[j] = ns
					}
				}
			}
			_, err = client.RbacV1().Roles(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			o.Namespace = ns
			for i := range o.Subjects {
				o.Subjects[i].Namespace = ns
			}
			_, err = client.RbacV1().RoleBindings(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			o.Name += "-" + ns
			_, err = client.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
			name := o.Name
			t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		case *rbacv1.ClusterRoleBinding:
			o.Name += "-" + ns
			o.RoleRef.Name += "-" + ns
			for i := range o.Subjects {
				o.Subjects[i].Namespace = ns
			}
			_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
			name := o.Name
			t.Cleanup(func() {
				_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
			})
		case *corev1.PersistentVolumeClaim:
			o.Namespace = ns
			_, err = client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.Deployment:
			o.Namespace = ns
			if o.Spec.Template.Spec.ServiceAccountName != "ecsd" {
				t.Errorf("deployment runs as %q, want the ecsd ServiceAccount", o.Spec.Template.Spec.ServiceAccountName)
			}
			_, err = client.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Service:
			o.Namespace = ns
			_, err = client.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("deploy/kubernetes: unexpected %T", obj)
		}
		if err != nil {
			t.Fatalf("applying %T: %v", obj, err)
		}
		kinds[fmt.Sprintf("%T", obj)] = true
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	for _, k := range []string{"*v1.Deployment", "*v1.ServiceAccount", "*v1.Role", "*v1.RoleBinding", "*v1.Service"} {
		if !kinds[k] {
			t.Errorf("deploy/kubernetes has no %s", k)
		}
	}
	if sa == "" {
		t.Fatal("deploy/kubernetes has no ServiceAccount")
	}
	return sa
}

// TestKubeDeployRBAC applies deploy/kubernetes to the tier-1 API server
// (RBAC on) and runs ecsd as the manifest's ServiceAccount (impersonated):
// a task runs and stops through the ECS API, so the Role is enough; and
// SubjectAccessReviews show it grants nothing beyond what the driver uses.
func TestKubeDeployRBAC(t *testing.T) {
	c := kubetest.Start(t)
	ns := strings.ToLower(fmt.Sprintf("rbac-%d", time.Now().UnixNano()%1e9))
	user := applyDeploy(t, c.Client, ns)
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}

	// ecsd itself, as the ServiceAccount: the kubeconfig impersonates it.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	orig, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	as := fmt.Sprintf("  user:\n    as: %q\n    as-groups: [%q, %q, %q]\n", user, groups[0], groups[1], groups[2])
	if err := os.WriteFile(kubeconfig, []byte(strings.Replace(string(orig), "  user:\n", as, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, withRuntime(server.RuntimeKubernetes), func(cfg *server.Config) {
		cfg.Kubeconfig, cfg.KubeNamespace = kubeconfig, ns
	})
	api := e.defaultClient()
	td := kubeTask(t, api, "rbac-web", types.ContainerDefinition{
		Name: aws.String("web"), Image: aws.String("ecsd-test/web:1"), Memory: aws.Int32(64),
	})
	arn := aws.ToString(runKubeTask(t, api, td).TaskArn)
	waitKubeTask(t, api, arn, "RUNNING")
	if _, err := api.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitKubeTask(t, api, arn, "STOPPED")

	// What the Role grants, and nothing more.
	review := func(attrs authv1.ResourceAttributes) bool {
		t.Helper()
		r, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authv1.SubjectAccessReview{
			Spec: authv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &attrs},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	allowed := []authv1.ResourceAttributes{
		{Namespace: ns, Verb: "create", Resource: "pods"},
		{Namespace: ns, Verb: "get", Resource: "pods"},
		{Namespace: ns, Verb: "list", Resource: "pods"},
		{Namespace: ns, Verb: "watch", Resource: "pods"},
		{Namespace: ns, Verb: "patch", Resource: "pods"},
		{Namespace: ns, Verb: "delete", Resource: "pods"},
		{Namespace: ns, Verb: "get", Resource: "pods", Subresource: "log"},
		{Namespace: ns, Verb: "get", Resource: "namespaces", Name: ns},
		{Verb: "list", Resource: "nodes"},
		{Verb: "watch", Resource: "nodes"},
		{Verb: "patch", Resource: "nodes", Name: "kwok-node-0"},
	}
	for _, a := range allowed {
		if !review(a) {
			t.Errorf("%s may not %s %s/%s in %q: the driver needs it", user, a.Verb, a.Resource, a.Subresource, a.Namespace)
		}
	}
	denied := []authv1.ResourceAttributes{
		{Namespace: "default", Verb: "create", Resource: "pods"},
		{Namespace: "default", Verb: "list", Resource: "pods"},
		{Namespace: ns, Verb: "update", Resource: "pods"},
		{Namespace: ns, Verb: "deletecollection", Resource: "pods"},
		{Namespace: ns, Verb: "create", Resource: "pods", Subresource: "exec"},
		{Namespace: ns, Verb: "create", Resource: "pods", Subresource: "eviction"},
		{Namespace: ns, Verb: "get", Resource: "secrets"},
		{Namespace: ns, Verb: "list", Resource: "secrets"},
		{Namespace: ns, Verb: "get", Resource: "configmaps"},
		{Namespace: ns, Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
		{Namespace: ns, Verb: "create", Resource: "deployments", Group: "apps"},
		{Namespace: ns, Verb: "patch", Resource: "roles", Group: "rbac.authorization.k8s.io"},
		{Namespace: ns, Verb: "create", Resource: "rolebindings", Group: "rbac.authorization.k8s.io"},
		{Verb: "create", Resource: "namespaces"},
		{Namespace: ns, Verb: "delete", Resource: "namespaces", Name: ns},
		{Namespace: "default", Verb: "get", Resource: "namespaces", Name: "default"},
		{Verb: "list", Resource: "namespaces"},
		{Verb: "delete", Resource: "nodes", Name: "kwok-node-0"},
		{Verb: "update", Resource: "nodes", Name: "kwok-node-0"},
		{Verb: "patch", Resource: "nodes", Subresource: "status", Name: "kwok-node-0"},
		{Verb: "impersonate", Resource: "users"},
		{Namespace: ns, Verb: "list", Resource: "events"},
	}
	for _, a := range denied {
		if review(a) {
			t.Errorf("%s may %s %s/%s in %q: deploy/kubernetes grants more than ecsd needs", user, a.Verb, a.Resource, a.Subresource, a.Namespace)
		}
	}
}
