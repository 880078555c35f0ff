// Command load fills an ecsd data directory with task-definition revisions
// for the benchmarks, much faster than a client could: it runs ecsd's own
// protocol server, use-cases and store in process and hands each
// RegisterTaskDefinition request straight to the protocol server, without
// a socket in between. What it stores is therefore exactly what ecsd stores
// for the same requests sent over HTTP.
//
//	go run ./bench/load -data-dir /tmp/big -families 1000 -revisions 1000
//
// Families are named fam-00000, fam-00001, ...; each gets -revisions
// revisions, except fam-00000, which gets -hot when it is set (so a small
// data set can still have one family with a full page of revisions).
// Requests carry the same SigV4 credential scope as bench/wrk/ecs.lua, so
// the revisions belong to the account and region the benchmarks query.
//
// With -endpoint it sends the same requests over HTTP instead, to load a
// peer such as moto_server with the same data:
//
//	go run ./bench/load -endpoint http://127.0.0.1:5000 -families 100 -revisions 1 -hot 901 -c 8
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/api"
	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// Authorization is the header bench/wrk/ecs.lua sends.
const authorization = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, " +
	"SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, " +
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

// Definition is the registration bench/run.sh sends, with the family left
// to fill in.
const Definition = `{"family":"%s","executionRoleArn":"arn:aws:iam::000000000000:role/ecsTaskExecutionRole",` +
	`"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",` +
	`"containerDefinitions":[{"name":"app","image":"public.ecr.aws/docker/library/nginx:latest","essential":true,"memory":512,` +
	`"portMappings":[{"containerPort":80,"protocol":"tcp"}],"environment":[{"name":"MODE","value":"bench"},{"name":"LOG_LEVEL","value":"info"}],` +
	`"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/bench","awslogs-region":"us-east-1","awslogs-stream-prefix":"app"}}}]}`

func main() {
	dataDir := flag.String("data-dir", "", "data directory to fill (created if missing)")
	families := flag.Int("families", 1000, "number of families")
	revisions := flag.Int("revisions", 1000, "revisions per family")
	hot := flag.Int("hot", 0, "revisions of fam-00000 (0: -revisions)")
	workers := flag.Int("c", 512, "concurrent registrations (the store groups them into commits)")
	account := flag.String("account-id", "000000000000", "ecsd's --account-id")
	endpoint := flag.String("endpoint", "", "send the requests to this ECS endpoint over HTTP instead of filling -data-dir")
	definition := flag.String("definition", "", "print the registration of this family, as sent, and exit")
	flag.Parse()
	if *definition != "" {
		fmt.Printf(Definition+"\n", *definition)
		return
	}
	if *endpoint != "" {
		if err := send(*endpoint, *families, *revisions, *hot, *workers); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	if *dataDir == "" || *families < 1 || *revisions < 1 {
		fmt.Fprintln(os.Stderr, "load: -data-dir, and positive -families and -revisions, are required")
		os.Exit(2)
	}
	if err := run(*dataDir, *account, *families, *revisions, *hot, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(dir, account string, families, revisions, hot, workers int) error {
	ctx := context.Background()
	// A larger batch than ecsd's default only makes loading faster; every
	// registration is still its own savepoint in the same writer.
	st, err := sqlitestore.Open(ctx, dir, sqlitestore.WithMaxBatch(1024))
	if err != nil {
		return err
	}
	srv := awsjson.NewServer(account, "us-east-1", slog.New(slog.DiscardHandler))
	api.Register(srv, control.New(st, nil))

	next, total := plan(families, revisions, hot, workers)
	start := time.Now()
	var done atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fam := range next {
				if firstErr.Load() != nil {
					continue
				}
				if err := register(srv, fam); err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if n := done.Add(1); n%100000 == 0 {
					fmt.Fprintf(os.Stderr, "load: %d of %d revisions, %.0f/s\n", n, total, float64(n)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	stats := st.Stats()
	if err := st.Close(); err != nil {
		return err
	}
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	took := time.Since(start)
	fmt.Printf("loaded %d revisions in %d families into %s in %.1fs (%.0f/s, %.1f writes per commit)\n",
		total, families, dir, took.Seconds(), float64(total)/took.Seconds(), float64(stats.Writes)/float64(max(stats.Commits, 1)))
	return nil
}

// plan sends the family of each registration to make, round-robin over
// families so that concurrent registrations mostly touch different
// families, as a fleet would.
func plan(families, revisions, hot, workers int) (<-chan string, int) {
	count := func(f int) int {
		if f == 0 && hot > 0 {
			return hot
		}
		return revisions
	}
	total := 0
	for f := range families {
		total += count(f)
	}
	next := make(chan string, workers)
	go func() {
		left := make([]int, families)
		for f := range families {
			left[f] = count(f)
		}
		for more := true; more; {
			more = false
			for f := range families {
				if left[f] > 0 {
					left[f]--
					more = true
					next <- fmt.Sprintf("fam-%05d", f)
				}
			}
		}
		close(next)
	}()
	return next, total
}

// send registers over HTTP, each request as bench/wrk/ecs.lua sends it.
func send(endpoint string, families, revisions, hot, workers int) error {
	next, total := plan(families, revisions, hot, workers)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	start := time.Now()
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fam := range next {
				if firstErr.Load() != nil {
					continue
				}
				r := request(fam)
				r.RequestURI = ""
				u, err := url.Parse(endpoint)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				r.URL, r.Host = u, u.Host
				resp, err := client.Do(r)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					firstErr.CompareAndSwap(nil, fmt.Errorf("RegisterTaskDefinition %s: %d %s", fam, resp.StatusCode, body))
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	took := time.Since(start)
	fmt.Printf("sent %d registrations in %d families to %s in %.1fs (%.0f/s)\n", total, families, endpoint, took.Seconds(), float64(total)/took.Seconds())
	return nil
}

// request is one registration as bench/wrk/ecs.lua sends it.
func request(family string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(fmt.Sprintf(Definition, family)))
	r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"RegisterTaskDefinition")
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Date", "20260101T000000Z")
	r.Header.Set("Authorization", authorization)
	return r
}

func register(srv http.Handler, family string) error {
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, request(family))
	if w.Code != http.StatusOK {
		return fmt.Errorf("RegisterTaskDefinition %s: %d %s", family, w.Code, w.Body)
	}
	return nil
}
