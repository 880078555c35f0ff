package e2e

import (
	"context"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/api"
	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/reliability"
	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/wire"
)

// implementedOperations lists the operations with a handler, from the same
// registration the server uses: ECS's by name, CloudWatch Logs' as
// reliability.LogsOp names them.
func implementedOperations() []string {
	proto := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	api.Register(proto, control.New(nil, nil))
	api.RegisterLogs(proto, &control.Logs{})
	var ops []string
	for op := range wire.Operations() {
		if proto.Implemented(op) {
			ops = append(ops, op)
		}
	}
	for op := range wire.LogsOperations() {
		if proto.ImplementedIn(awsjson.Logs, op) {
			ops = append(ops, reliability.LogsOp(op))
		}
	}
	sort.Strings(ops)
	return ops
}

// logsOperations are the CloudWatch Logs operations among them.
func logsOperations() []string {
	var ops []string
	for _, op := range implementedOperations() {
		if strings.HasPrefix(op, "logs:") {
			ops = append(ops, op)
		}
	}
	return ops
}

// TestSeedsCoverEveryOperation keeps FuzzOperations and the bad-input
// campaign honest: every implemented operation has seeds, and every seed
// is a request the server answers properly (most with 200).
func TestSeedsCoverEveryOperation(t *testing.T) {
	t.Parallel()
	ops := implementedOperations()
	for _, op := range ops {
		if len(reliability.Seeds[op]) == 0 {
			t.Errorf("%s has a handler but no seed in reliability.Seeds: add the shapes clients send", op)
		}
	}
	for op := range reliability.Seeds {
		if !slices.Contains(ops, op) {
			t.Errorf("reliability.Seeds has %s, which has no handler", op)
		}
	}
	srv := startServer(t)
	hc := &http.Client{Timeout: 30 * time.Second}
	if err := reliability.Fixtures(t.Context(), hc, srv.URL()); err != nil {
		t.Fatal(err)
	}
	ok, seeds := 0, 0
	for _, op := range ops {
		for _, body := range reliability.Seeds[op] {
			seeds++
			status, h, b, err := reliability.Post(t.Context(), hc, srv.URL(), op, []byte(body))
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			if err := reliability.CheckAnswer(status, h, b); err != nil {
				t.Errorf("%s %s: %v", op, body, err)
			}
			if status == http.StatusOK {
				ok++
			}
		}
	}
	t.Logf("%d of %d seeds succeed against the fixtures", ok, seeds)
	// The seeds are for reaching each operation's real work, not only its
	// not-found path.
	if ok < seeds/2 {
		t.Errorf("only %d of %d seeds succeed against the fixtures", ok, seeds)
	}
}

// FuzzOperations sends arbitrary bodies to every implemented operation
// through the whole server (protocol, api, control, SQLite store, the
// loops on the simulated runtime), over loopback. Whatever arrives, the
// answer is a 200 or an AWS-shaped 4xx, never a 5xx or a panic, and the
// server keeps serving. The seeds are each operation's valid shapes
// (reliability.Seeds) against fixtures that exist.
//
//	go test -run XXX -fuzz FuzzOperations -fuzztime 60s ./internal/e2e/
func FuzzOperations(f *testing.F) {
	ops := implementedOperations()
	for _, op := range ops {
		for _, body := range reliability.Seeds[op] {
			f.Add(op, []byte(body))
		}
	}
	f.Add("RunTask", []byte(`{"cluster":"fz","taskDefinition":"fz","count":10,"launchType":"FARGATE"}`))
	f.Add("UpdateService", []byte(`{"cluster":"fz","service":"fz-svc","desiredCount":-1}`))
	f.Add("RegisterTaskDefinition", []byte("{\"family\":\"\xff\xfe\",\"containerDefinitions\":[]}"))
	fuzzOperations(f, ops)
}

// FuzzLogsOperations is FuzzOperations for the CloudWatch Logs API only,
// so its fuzzing time is not shared with ECS's 40 operations.
//
//	go test -run XXX -fuzz FuzzLogsOperations -fuzztime 60s ./internal/e2e/
func FuzzLogsOperations(f *testing.F) {
	ops := logsOperations()
	for _, op := range ops {
		for _, body := range reliability.Seeds[op] {
			f.Add(op, []byte(body))
		}
	}
	f.Add("logs:PutLogEvents", []byte(`{"logGroupName":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef","logEvents":[{"timestamp":-1,"message":""}]}`))
	f.Add("logs:FilterLogEvents", []byte(`{"logGroupName":"/fz","filterPattern":"%(a+)+$%"}`))
	f.Add("logs:GetLogEvents", []byte(`{"logGroupName":"/fz","logStreamName":"x","limit":2147483647,"nextToken":"f/99999999999999999999999999999999999999999"}`))
	fuzzOperations(f, ops)
}

// fuzzOperations runs the fuzz loop of FuzzOperations over ops.
func fuzzOperations(f *testing.F, ops []string) {
	dir := f.TempDir()
	srv, err := server.Start(context.Background(), server.Config{
		Listen: "127.0.0.1:0", DataDir: dir, AccountID: defaultAccount, Region: defaultRegion,
		DeletionDelay: time.Hour, CreateDefaultCluster: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			f.Errorf("Shutdown: %v", err)
		}
	})
	hc := &http.Client{Timeout: 30 * time.Second}
	if err := reliability.Fixtures(context.Background(), hc, srv.URL()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if !slices.Contains(ops, op) {
			// Mutated names still reach some operation, deterministically.
			h := fnv.New32a()
			_, _ = h.Write([]byte(op))
			op = ops[h.Sum32()%uint32(len(ops))]
		}
		status, hdr, b, err := reliability.Post(context.Background(), hc, srv.URL(), op, body)
		if err != nil {
			t.Fatalf("%s %q: %v", op, body, err)
		}
		if err := reliability.CheckAnswer(status, hdr, b); err != nil {
			t.Fatalf("%s %q: %v", op, body, err)
		}
		resp, err := hc.Get(srv.URL() + "/health")
		if err != nil {
			t.Fatalf("after %s %q the server does not answer /health: %v", op, body, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %s %q /health answers %d", op, body, resp.StatusCode)
		}
	})
}
