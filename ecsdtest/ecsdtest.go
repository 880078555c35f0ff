// Package ecsdtest starts ecsd in a container for Go tests, with
// testcontainers-go:
//
//	c, err := ecsdtest.Run(ctx)
//	if err != nil { ... }
//	defer c.Terminate(ctx)
//	client := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(c.URL()) })
//
// It is a module of its own, so that depending on it brings
// testcontainers-go and not ecsd's server dependencies, and ecsd's module
// does not carry testcontainers-go.
//
// The image is not pulled from anywhere: build it from a checkout of ecsd
// with deploy/docker/build-image.sh (it tags ecsd:latest). ecsd starts on
// the simulated runtime, so it needs no Docker socket and runs anywhere a
// container does. Without a registry the testcontainers reaper (Ryuk)
// cannot be pulled either: set TESTCONTAINERS_RYUK_DISABLED=true and
// Terminate what you Run. When the tests themselves run in a container
// that uses the host's Engine through its socket, testcontainers looks for
// published ports at the default gateway; TESTCONTAINERS_HOST_OVERRIDE
// (e.g. 127.0.0.1) says where they are.
package ecsdtest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DefaultImage is the tag deploy/docker/build-image.sh gives.
const DefaultImage = "ecsd:latest"

// port is where the image serves the ECS API (ECSD_LISTEN=0.0.0.0:8080).
const port = "8080/tcp"

// Container is a running ecsd; it is a testcontainers.Container too.
type Container struct {
	testcontainers.Container
	url string
}

// URL is the endpoint to give AWS clients (BaseEndpoint, --endpoint-url,
// AWS_ENDPOINT_URL_ECS), e.g. http://127.0.0.1:32771.
func (c *Container) URL() string { return c.url }

type config struct {
	image  string
	env    map[string]string
	labels map[string]string
}

// Option changes how Run starts ecsd.
type Option func(*config)

// WithImage runs another tag than DefaultImage.
func WithImage(image string) Option { return func(c *config) { c.image = image } }

// WithEnv sets one of ecsd's ECSD_* settings (see `ecsd --help`), e.g.
// WithEnv("ECSD_SIM_DELAY", "1s") or WithEnv("ECSD_ENABLE_RESET", "1").
func WithEnv(name, value string) Option { return func(c *config) { c.env[name] = value } }

// WithLabel labels the container, so a test suite can find (and remove)
// what it started.
func WithLabel(name, value string) Option { return func(c *config) { c.labels[name] = value } }

// Run starts ecsd and returns once it answers GET /health. The caller
// must Terminate it.
func Run(ctx context.Context, opts ...Option) (*Container, error) {
	cfg := config{image: DefaultImage, env: map[string]string{}, labels: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        cfg.image,
			ExposedPorts: []string{port},
			Env:          cfg.env,
			Labels:       cfg.labels,
			// The Engine may publish on IPv4 only while "localhost"
			// resolves to ::1 first.
			WaitingFor: wait.ForHTTP("/health").WithPort(port).WithForcedIPv4LocalHost().
				WithStatusCodeMatcher(func(s int) bool { return s == http.StatusOK }).
				WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("ecsdtest: start %s: %w", cfg.image, err)
	}
	host, err := c.Host(ctx)
	if host == "localhost" {
		host = "127.0.0.1" // as the wait above: clients must not try ::1
	}
	if err == nil {
		var p string
		if mp, perr := c.MappedPort(ctx, port); perr == nil {
			p = mp.Port()
		} else {
			err = perr
		}
		if err == nil {
			return &Container{Container: c, url: "http://" + host + ":" + p}, nil
		}
	}
	_ = c.Terminate(context.WithoutCancel(ctx))
	return nil, fmt.Errorf("ecsdtest: address of %s: %w", cfg.image, err)
}
