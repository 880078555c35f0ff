// Command logs measures ecsd's CloudWatch Logs path on this machine:
//
//   - ingest: a task on the simulated runtime whose awslogs container writes
//     a line every -every (default 10µs: 100,000 lines/s, more than the
//     path takes), for -for; reports the lines stored per second through
//     the whole path (driver.LogReader → ingester → SQLite Logs store) and
//     how far the store lags behind the container.
//
//   - read: -events events (default 10,000,000) inserted straight into the
//     Logs store (one stream, 1,000 events a millisecond apart per batch),
//     then GetLogEvents and FilterLogEvents latency through the official
//     SDK client against a real ecsd on that data directory.
//
//     go run ./bench/logs -mode ingest -for 20s
//     go run ./bench/logs -mode read -events 10000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

func main() {
	mode := flag.String("mode", "ingest", "ingest or read")
	every := flag.Duration("every", 10*time.Microsecond, "ingest: the container writes a line this often")
	dur := flag.Duration("for", 20*time.Second, "ingest: how long to measure")
	events := flag.Int("events", 10_000_000, "read: events stored before measuring")
	reads := flag.Int("reads", 200, "read: requests per measured kind")
	dir := flag.String("dir", "", "data directory (default: a temporary one, removed after)")
	insert := flag.Bool("insert", true, "read: insert the events (false: measure a -dir filled by an earlier run)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "ecsd-bench-logs-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()
	switch *mode {
	case "ingest":
		ingest(ctx, *dir, *every, *dur)
	case "read":
		read(ctx, *dir, *events, *reads, *insert)
	default:
		log.Fatalf("-mode %q: want ingest or read", *mode)
	}
}

func start(ctx context.Context, dir string) (*server.Server, *cwl.Client, *ecs.Client) {
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, AccountID: "000000000000",
		Region: "us-east-1", CreateDefaultCluster: true, SimInstances: 1})
	if err != nil {
		log.Fatal(err)
	}
	creds := credentials.NewStaticCredentialsProvider("AKID", "secret", "")
	lc := cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: creds})
	ec := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: creds})
	return srv, lc, ec
}

func stop(srv *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}

// storedLines reads the number of the last stored line ("line N").
func storedLines(ctx context.Context, lc *cwl.Client, stream string) int {
	out, err := lc.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/bench/ingest"),
		LogStreamName: aws.String(stream), Limit: aws.Int32(1)})
	if err != nil || len(out.Events) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(aws.ToString(out.Events[0].Message), "line "))
	return n + 1
}

func ingest(ctx context.Context, dir string, every, dur time.Duration) {
	srv, lc, ec := start(ctx, dir)
	defer stop(srv)
	_, err := ec.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("chatty"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
			Environment: []ecstypes.KeyValuePair{
				{Name: aws.String("ECSD_SIM_LOG"), Value: aws.String("line {n}")},
				{Name: aws.String("ECSD_SIM_LOG_EVERY"), Value: aws.String(strconv.FormatFloat(every.Seconds(), 'f', -1, 64))},
			},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/bench/ingest", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "b", "awslogs-create-group": "true"}},
		}}})
	if err != nil {
		log.Fatal(err)
	}
	out, err := ec.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("chatty")})
	if err != nil || len(out.Tasks) == 0 {
		log.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	stream := "b/app/" + arn[strings.LastIndex(arn, "/")+1:]
	// Warm up until the first lines are stored.
	for storedLines(ctx, lc, stream) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	t0, n0 := time.Now(), storedLines(ctx, lc, stream)
	started := time.Now()
	for time.Since(t0) < dur {
		time.Sleep(time.Second)
	}
	t1, n1 := time.Now(), storedLines(ctx, lc, stream)
	rate := float64(n1-n0) / t1.Sub(t0).Seconds()
	written := int(time.Since(started)/every) + n0
	fmt.Printf("ingest: %d lines stored in %v: %.0f lines/s (container writing %.0f lines/s; %d lines behind at the end)\n",
		n1-n0, t1.Sub(t0).Round(time.Millisecond), rate, float64(time.Second)/float64(every), max(0, written-n1))
	fmt.Printf("log bytes stored: %d\n", srv.LogBytes())
}

func read(ctx context.Context, dir string, events, reads int, insert bool) {
	const group, stream = "/bench/read", "b/app/0123456789abcdef0123456789abcdef"
	sc := store.Scope{Account: "000000000000", Region: "us-east-1"}
	l, err := sqlitestore.OpenLogs(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	// Recent timestamps (PutLogEvents rules do not apply to this direct
	// insert, but the reads mirror a week of a busy container).
	base := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	if !insert {
		first, err := l.GetLogEvents(ctx, sc, group, stream, store.LogEventsQuery{Limit: 1})
		if err != nil || len(first) == 0 {
			log.Fatalf("-insert=false: no events in %s: %v", dir, err)
		}
		base, events = first[0].Timestamp, 0
	}
	t0 := time.Now()
	batch := make([]store.LogEvent, 0, 10000)
	for i := 0; i < events; {
		batch = batch[:0]
		for j := 0; j < cap(batch) && i < events; j, i = j+1, i+1 {
			msg := fmt.Sprintf("%d GET /api/items/%d 200 %dms", i, i%9973, i%250)
			if i%100000 == 0 {
				msg += " ERROR needle"
			}
			batch = append(batch, store.LogEvent{Timestamp: base + int64(i/1000), Message: msg})
		}
		if err := l.PutLogEvents(ctx, sc, group, stream, batch, true); err != nil {
			log.Fatal(err)
		}
		if i%1_000_000 == 0 {
			fmt.Fprintf(os.Stderr, "  %d events inserted (%v)\n", i, time.Since(t0).Round(time.Second))
		}
	}
	ins := time.Since(t0)
	l.Close()
	size := int64(0)
	for _, f := range []string{"logs.db", "logs.db-wal"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			size += st.Size()
		}
	}
	if insert {
		fmt.Printf("read: %d events inserted directly in %v (%.0f events/s); logs.db %.0f MiB\n",
			events, ins.Round(time.Second), float64(events)/ins.Seconds(), float64(size)/(1<<20))
	} else {
		events = int(l.LogBytes() / 30) // about 30 bytes an event: only the random reads' spread depends on it
		fmt.Printf("read: the events already in %s; logs.db %.0f MiB\n", dir, float64(size)/(1<<20))
	}

	srv, lc, _ := start(ctx, dir)
	defer stop(srv)
	measure := func(name string, call func(i int) (int, error)) {
		var lat []time.Duration
		got := 0
		for i := range reads {
			s := time.Now()
			n, err := call(i)
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			lat = append(lat, time.Since(s))
			got += n
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("  %-52s p50 %8v  p99 %8v  (%d events per call)\n", name,
			lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), got/reads)
	}
	in := func() *cwl.GetLogEventsInput {
		return &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}
	}
	measure("GetLogEvents, last 100 (no token)", func(int) (int, error) {
		q := in()
		q.Limit = aws.Int32(100)
		out, err := lc.GetLogEvents(ctx, q)
		return count(out, err)
	})
	measure("GetLogEvents, first 100 (startFromHead)", func(int) (int, error) {
		q := in()
		q.Limit, q.StartFromHead = aws.Int32(100), aws.Bool(true)
		out, err := lc.GetLogEvents(ctx, q)
		return count(out, err)
	})
	measure("GetLogEvents, 100 at a random time (startTime)", func(i int) (int, error) {
		q := in()
		q.Limit, q.StartFromHead = aws.Int32(100), aws.Bool(true)
		q.StartTime = aws.Int64(base + int64((i*7919)%max(1, events/1000)))
		out, err := lc.GetLogEvents(ctx, q)
		return count(out, err)
	})
	measure("GetLogEvents, default page (10,000 / 1 MB)", func(int) (int, error) {
		out, err := lc.GetLogEvents(ctx, in())
		return count(out, err)
	})
	var token *string
	measure("GetLogEvents, paging forward 1,000 with nextForwardToken", func(int) (int, error) {
		q := in()
		q.Limit, q.StartFromHead, q.NextToken = aws.Int32(1000), aws.Bool(true), token
		out, err := lc.GetLogEvents(ctx, q)
		if err == nil {
			token = out.NextForwardToken
		}
		return count(out, err)
	})
	measure("FilterLogEvents \"needle\", 1-minute window", func(i int) (int, error) {
		s := base + int64((i*7919)%max(1, events/1000))
		out, err := lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group),
			FilterPattern: aws.String("needle"), StartTime: aws.Int64(s), EndTime: aws.Int64(s + 60_000)})
		return count(out, err)
	})
}

// count is the events of an answer, 0 with an error.
func count[T interface {
	*cwl.GetLogEventsOutput | *cwl.FilterLogEventsOutput
}](out T, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	switch o := any(out).(type) {
	case *cwl.GetLogEventsOutput:
		return len(o.Events), nil
	case *cwl.FilterLogEventsOutput:
		return len(o.Events), nil
	}
	return 0, nil
}
