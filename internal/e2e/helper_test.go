// Package e2e drives a real ecsd, started in-process on a random loopback
// port with a temporary data directory, through the official
// aws-sdk-go-v2 ECS client, raw HTTP where the SDK cannot see the wire, and
// the AWS CLI and boto3 scripts under e2e/. Nothing here fakes the server:
// every request crosses a TCP socket and the SQLite store on disk.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/sdkhttp"
	"github.com/ecsd/ecsd/internal/server"
)

const (
	defaultAccount = "000000000000"
	defaultRegion  = "us-east-1"
	// defaultKey is not a 12-digit account id, so requests signed with it
	// fall back to the server's configured account.
	defaultKey = "AKIDEXAMPLE"

	targetPrefix = "AmazonEC2ContainerServiceV20141113."
)

// ecsd is one running server under test.
type ecsd struct {
	*server.Server
	cfg     server.Config
	stopped bool
}

type option func(*server.Config)

// withDeletion sets how long a DELETE_IN_PROGRESS revision waits and how
// often the sweeper looks.
func withDeletion(delay, interval time.Duration) option {
	return func(c *server.Config) { c.DeletionDelay, c.DeletionInterval = delay, interval }
}

// withDataDir reuses a data directory, to prove state survives a restart.
func withDataDir(dir string) option {
	return func(c *server.Config) { c.DataDir = dir }
}

// withReset serves POST /moto-api/reset.
func withReset() option {
	return func(c *server.Config) { c.EnableReset = true }
}

// withInactiveGrace sets the window in which deregistered revisions may
// still be used.
func withInactiveGrace(d time.Duration) option {
	return func(c *server.Config) { c.InactiveGrace = d }
}

// withSimInstances sets how many simulated container instances every
// cluster gets.
func withSimInstances(n int) option {
	return func(c *server.Config) { c.SimInstances = n }
}

// withoutDefaultCluster answers as the ECS API does when the default
// cluster was never created.
func withoutDefaultCluster() option {
	return func(c *server.Config) { c.CreateDefaultCluster = false }
}

// startServer starts ecsd on a random loopback port with a fresh data
// directory. Unless told otherwise DELETE_IN_PROGRESS revisions wait an
// hour, so tests can observe that state without racing the sweeper.
func startServer(t *testing.T, opts ...option) *ecsd {
	t.Helper()
	cfg := server.Config{
		// Most tests run tasks without creating a cluster first;
		// TestNoDefaultCluster covers the API's own behaviour.
		CreateDefaultCluster: true,
		// EC2 tasks (the default launch type) need container instances;
		// TestNoContainerInstances covers a cluster without any.
		SimInstances:  3,
		Listen:        "127.0.0.1:0",
		DataDir:       t.TempDir(),
		AccountID:     defaultAccount,
		Region:        defaultRegion,
		DeletionDelay: time.Hour,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if os.Getenv(storeEnv) == "postgres" && cfg.Database == "" {
		cfg.Database = e2eDatabase(t, cfg.DataDir)
	}
	srv, err := server.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	e := &ecsd{Server: srv, cfg: cfg}
	t.Cleanup(func() { e.stop(t) })
	return e
}

// storeEnv names the store every server startServer starts runs on:
// "postgres" puts each on a throwaway PostgreSQL database (pgtest) instead
// of SQLite in its data directory, so the suite's store-dependent tests
// prove the same semantics on both backends (.ci/run runs a subset so).
// A test that picks its store itself (withDatabase) keeps its choice.
const storeEnv = "ECSD_E2E_STORE"

// e2eDatabases maps a data directory to the database its servers use, so
// that a server restarted on the same directory finds its state again, as
// it would in SQLite's file there.
var e2eDatabases sync.Map

func e2eDatabase(t *testing.T, dataDir string) string {
	t.Helper()
	if u, ok := e2eDatabases.Load(dataDir); ok {
		return u.(string)
	}
	u := pgtest.Database(t)
	e2eDatabases.Store(dataDir, u)
	return u
}

// stop shuts the server down; safe to call twice.
func (e *ecsd) stop(t *testing.T) {
	t.Helper()
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// client returns an official ECS client that signs with accessKey in
// region. A 12-digit access key selects that account.
func (e *ecsd) client(accessKey, region string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(), // the SDK's own connection race; see sdkhttp
	})
}

// defaultClient talks to the default account in the default region.
func (e *ecsd) defaultClient() *ecs.Client { return e.client(defaultKey, defaultRegion) }

// post sends one raw JSON 1.1 request, for what the SDK hides: exact JSON,
// absent members, malformed bodies.
func (e *ecsd) post(t *testing.T, op, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", targetPrefix+op)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp, b
}

// postOK sends a raw request that must succeed and decodes its JSON.
func (e *ecsd) postOK(t *testing.T, op, body string) map[string]any {
	t.Helper()
	resp, b := e.post(t, op, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", op, resp.StatusCode, b)
	}
	return decodeJSON(t, b)
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// wantAPIError asserts that err is the SDK's typed error E (for example
// *types.ClientException) carrying exactly msg.
func wantAPIError[E smithy.APIError](t *testing.T, err error, msg string) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	if got := target.ErrorMessage(); got != msg {
		t.Fatalf("%T message = %q, want %q", target, got, msg)
	}
	return target
}

// waitFor polls cond until it returns nil or the deadline passes. It is how
// tests wait for background work (the deletion sweeper) without sleeping a
// guessed duration.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still not true after %v: %v", what, timeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-tick.C:
		}
	}
}

// container is the smallest valid container definition.
func container(name string) types.ContainerDefinition {
	return types.ContainerDefinition{Name: aws.String(name), Image: aws.String("busybox:1.36"), Memory: aws.Int32(128)}
}

// register registers a minimal revision of family and fails the test on
// error.
func register(t *testing.T, c *ecs.Client, family string, tags ...types.Tag) types.TaskDefinition {
	t.Helper()
	in := &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{container("app")},
	}
	if len(tags) > 0 {
		in.Tags = tags
	}
	out, err := c.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
	}
	return *out.TaskDefinition
}

func deregister(t *testing.T, c *ecs.Client, ident string) types.TaskDefinition {
	t.Helper()
	out, err := c.DeregisterTaskDefinition(t.Context(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ident)})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition(%s): %v", ident, err)
	}
	return *out.TaskDefinition
}

func describe(ctx context.Context, c *ecs.Client, ident string, include ...types.TaskDefinitionField) (*ecs.DescribeTaskDefinitionOutput, error) {
	return c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ident), Include: include})
}

// listAll collects every ARN of a ListTaskDefinitions query through the
// SDK's paginator, failing on a repeated token.
func listAll(t *testing.T, c *ecs.Client, in ecs.ListTaskDefinitionsInput) []string {
	t.Helper()
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(c, &in, func(o *ecs.ListTaskDefinitionsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListTaskDefinitions page: %v", err)
		}
		arns = append(arns, page.TaskDefinitionArns...)
	}
	return arns
}

// families collects every family of a ListTaskDefinitionFamilies query.
func families(t *testing.T, c *ecs.Client, in ecs.ListTaskDefinitionFamiliesInput) []string {
	t.Helper()
	var out []string
	p := ecs.NewListTaskDefinitionFamiliesPaginator(c, &in, func(o *ecs.ListTaskDefinitionFamiliesPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListTaskDefinitionFamilies page: %v", err)
		}
		out = append(out, page.Families...)
	}
	return out
}

// tdARN is the ARN ECS gives a revision in the default account and region.
func tdARN(family string, revision int) string {
	return arnIn(defaultRegion, defaultAccount, family, revision)
}

func arnIn(region, account, family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, family, revision)
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func deregisterInput(ident string) *ecs.DeregisterTaskDefinitionInput {
	return &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ident)}
}

func deleteInput(idents ...string) *ecs.DeleteTaskDefinitionsInput {
	if idents == nil {
		idents = []string{} // the member is required; send an empty list
	}
	return &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: idents}
}

func familiesInput(prefix string, status types.TaskDefinitionFamilyStatus) ecs.ListTaskDefinitionFamiliesInput {
	in := ecs.ListTaskDefinitionFamiliesInput{Status: status}
	if prefix != "" {
		in.FamilyPrefix = aws.String(prefix)
	}
	return in
}
