// Command stores compares ecsd on its two stores in one run: the embedded
// SQLite file and PostgreSQL (a throwaway server from internal/pgtest,
// fsync on), each behind real ecsd servers started in process, driven over
// HTTP by the official aws-sdk-go-v2 client.
//
//	go run ./bench/stores -d 5s -c 16
//
// For each store it measures, for -d each, with -c concurrent clients:
// durable RegisterTaskDefinition, RunTask (Fargate, simulated runtime),
// and DescribeServices of 10 services. With -replicas N > 1 the
// PostgreSQL side also runs N ecsd servers on the one database, clients
// spread over them, for Register and Describe (RunTask is left to one
// replica: the loops have no leases yet, see docs/operations.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/sdkhttp"
	"github.com/ecsd/ecsd/internal/server"
)

func main() {
	d := flag.Duration("d", 5*time.Second, "duration of each measurement")
	c := flag.Int("c", 16, "concurrent clients")
	replicas := flag.Int("replicas", 1, "ecsd servers on the PostgreSQL database")
	flag.Parse()
	if err := run(*d, *c, *replicas); err != nil {
		fmt.Fprintln(os.Stderr, "stores:", err)
		os.Exit(1)
	}
}

type result struct {
	store, op string
	n         int
	errs      int64
	d         time.Duration
	lat       []time.Duration
}

func run(d time.Duration, conc, replicas int) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "ecsd-bench-stores-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // the postgres user's server lives under it
		return err
	}
	pg, err := pgtest.Start(ctx, tmp, pgtest.Options{}) // fsync on: durable commits cost what they cost
	if err != nil {
		return err
	}
	defer pg.Close()
	if err := pg.CreateDatabase(ctx, "ecsd"); err != nil {
		return err
	}

	type side struct {
		name     string
		database string
		n        int
	}
	sides := []side{{"sqlite", "", 1}, {"postgres", pg.URL("ecsd"), 1}}
	if replicas > 1 {
		sides = append(sides, side{fmt.Sprintf("postgres, %d replicas", replicas), pg.URL("ecsd"), replicas})
	}
	var results []result
	for _, side := range sides {
		var clients []*ecs.Client
		var servers []*server.Server
		for i := range side.n {
			dir, err := os.MkdirTemp(tmp, "data-")
			if err != nil {
				return err
			}
			srv, err := server.Start(ctx, server.Config{
				Listen: "127.0.0.1:0", DataDir: dir, Database: side.database,
				AccountID: "000000000000", Region: "us-east-1",
				CreateDefaultCluster: true, DeletionDelay: time.Hour, EnableReset: true,
			})
			if err != nil {
				return fmt.Errorf("%s replica %d: %w", side.name, i, err)
			}
			servers = append(servers, srv)
			clients = append(clients, client(srv.URL()))
		}
		stop := func() {
			for i, s := range servers {
				fmt.Fprintf(os.Stderr, "%s replica %d store stats: %+v\n", side.name, i, s.StoreStats())
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				s.Shutdown(sctx)
				cancel()
			}
		}
		// The replicas side starts from the state the single-replica
		// PostgreSQL side left: reset it, as every side starts empty.
		if err := reset(servers[0].URL()); err != nil {
			stop()
			return err
		}
		cl := clients[0]
		if _, err := cl.RegisterTaskDefinition(ctx, taskDef("web")); err != nil {
			stop()
			return err
		}
		var names []string
		for i := range 10 {
			name := fmt.Sprintf("svc-%d", i)
			names = append(names, name)
			if _, err := cl.CreateService(ctx, &ecs.CreateServiceInput{
				ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
				LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc,
			}); err != nil {
				stop()
				return err
			}
		}
		ops := []struct {
			name string
			fn   func(ctx context.Context, c *ecs.Client, i int) error
			all  bool // spread over every replica
		}{
			{"RegisterTaskDefinition", func(ctx context.Context, c *ecs.Client, i int) error {
				_, err := c.RegisterTaskDefinition(ctx, taskDef(fmt.Sprintf("fam-%d", i%8)))
				return err
			}, true},
			{"RunTask", func(ctx context.Context, c *ecs.Client, i int) error {
				_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
				return err
			}, false},
			{"DescribeServices", func(ctx context.Context, c *ecs.Client, i int) error {
				_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: names})
				return err
			}, true},
		}
		for _, op := range ops {
			if side.n > 1 && !op.all {
				continue
			}
			use := clients
			if !op.all {
				use = clients[:1]
			}
			results = append(results, measure(side.name, op.name, d, conc, use, op.fn))
		}
		stop()
	}
	fmt.Printf("| store | operation | requests/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n")
	for _, r := range results {
		slices.Sort(r.lat)
		fmt.Printf("| %s | %s | %.0f | %.2f | %.2f | %d |\n", r.store, r.op, float64(r.n)/r.d.Seconds(),
			ms(pct(r.lat, 0.50)), ms(pct(r.lat, 0.99)), r.errs)
	}
	return nil
}

func measure(store, op string, d time.Duration, conc int, clients []*ecs.Client, fn func(context.Context, *ecs.Client, int) error) result {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs atomic.Int64
		seq  atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for w := range conc {
		c := clients[w%len(clients)]
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := fn(context.Background(), c, int(seq.Add(1))); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "%s %s: %v\n", store, op, err)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return result{store: store, op: op, n: len(lat), errs: errs.Load(), d: time.Since(start), lat: lat}
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var awsvpc = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-12345678"}}}

func taskDef(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
		}},
	}
}

// reset clears a server's state (POST /moto-api/reset).
func reset(url string) error {
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset: %s", resp.Status)
	}
	return nil
}

func client(url string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1, HTTPClient: sdkhttp.Client(),
	})
}
