// Package metadata serves what ECS serves to the containers of a task
// from inside the host: the task metadata endpoint version 4
// (ECS_CONTAINER_METADATA_URI_V4: the container, /task, /taskWithTags,
// /stats, /task/stats, in the ECS agent's JSON) and the credentials
// endpoint of the task role (AWS_CONTAINER_CREDENTIALS_FULL_URI, and
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI where ecsd can serve the ECS
// address 169.254.170.2). The credentials are simulated: ecsd has no IAM,
// so it derives keys that mean nothing to AWS.
//
// Containers reach it on the host's address on the Docker bridge (bridge
// and awsvpc tasks) or on 127.0.0.1 (host-mode tasks), on a port kept in
// the data directory so containers adopted after a restart still reach
// it. The ECS API listens on loopback only, so this is a separate
// listener that serves nothing but this package's paths. Every URL carries
// an unguessable token bound to one task and container (an HMAC under a
// key kept in the data directory), so a container cannot read another
// task's metadata or credentials.
//
// It may import the store, records, ecs and driver; never the protocol,
// the api, the use-cases, the worker loops or the server.
package metadata

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/store"
)

// Environment variables injected into every container, as ECS names them.
const (
	EnvMetadataURIV4        = "ECS_CONTAINER_METADATA_URI_V4"
	EnvCredentialsFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvCredentialsRelative  = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvAuthorizationToken   = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvExecutionEnvironment = "AWS_EXECUTION_ENV"
)

// LinkLocal is the address ECS serves both endpoints on. ecsd serves it
// too when the host has it (e.g. `ip addr add 169.254.170.2/32 dev lo`);
// AWS SDKs fetch credentials over plain HTTP only from loopback or this
// address.
var LinkLocal = netip.MustParseAddr("169.254.170.2")

// Config configures the endpoints.
type Config struct {
	Store  store.Store
	Driver driver.Driver
	// Dir keeps the token key and the port; "" keeps them in memory (a
	// restart then strands the containers it leaves running).
	Dir string
	// Gateway is the host's address on the container bridge; invalid
	// means bridge and awsvpc containers cannot reach ecsd.
	Gateway netip.Addr
	// LinkLocalPort is the port tried on LinkLocal (ECS: 80); 0 is 80.
	LinkLocalPort int
	// Listen, when set, is one more address ("host:port") the endpoints
	// are served on: where pods of the kubernetes runtime, on other
	// machines, reach ecsd (a Service in front of it, or a node address).
	Listen string
	// AdvertiseURL, when set, is the base URL containers of every network
	// mode but host are given (ECS_CONTAINER_METADATA_URI_V4 and the
	// credentials URI start with it), instead of the gateway's or
	// LinkLocal's address: the Service's URL.
	AdvertiseURL string
	NowFunc      func() time.Time
	Logger       *slog.Logger
}

// Server serves the endpoints.
type Server struct {
	cfg     Config
	key     []byte
	port    int
	gateway bool // serving on cfg.Gateway
	// linkLocal is the port served on LinkLocal; 0 if not served.
	linkLocal int

	mu      sync.Mutex
	servers []*http.Server
}

// state is what the data directory keeps.
type state struct {
	Key  []byte `json:"key"`
	Port int    `json:"port"`
}

const stateFile = "metadata.json"

// Start opens the listeners and serves until Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LinkLocalPort == 0 {
		cfg.LinkLocalPort = 80
	}
	st, err := loadState(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, key: st.Key}
	lns, port, err := s.listen(st.Port)
	if err != nil {
		return nil, err
	}
	if st.Port != 0 && port != st.Port {
		cfg.Logger.Warn("metadata endpoint: the port of the last run is taken; containers started before the restart cannot reach it",
			"was", st.Port, "now", port)
	}
	s.port = port
	st.Port = port
	if err := saveState(cfg.Dir, st); err != nil {
		for _, l := range lns {
			l.ln.Close()
		}
		return nil, err
	}
	for _, l := range lns {
		srv := &http.Server{
			Handler:           s.handler(l.requireAuth),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		}
		s.servers = append(s.servers, srv)
		go func() {
			if err := srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("metadata endpoint stopped", "addr", l.ln.Addr().String(), "err", err)
			}
		}()
	}
	addrs := make([]string, 0, len(lns))
	for _, l := range lns {
		addrs = append(addrs, l.ln.Addr().String())
	}
	cfg.Logger.Info("task metadata and credentials endpoints listening", "addrs", strings.Join(addrs, ","))
	return s, nil
}

type listener struct {
	ln net.Listener
	// requireAuth: the credentials path wants the authorization token;
	// on the ECS address the path alone is enough, as in ECS.
	requireAuth bool
}

// listen binds loopback and the gateway on one port: want if it is free,
// else a random one.
func (s *Server) listen(want int) ([]listener, int, error) {
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		port := want
		if attempt > 0 || port == 0 {
			port = 0
		}
		lo, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue
		}
		port = lo.Addr().(*net.TCPAddr).Port
		lns := []listener{{ln: lo, requireAuth: true}}
		if s.cfg.Gateway.IsValid() {
			gw, err := net.Listen("tcp", netip.AddrPortFrom(s.cfg.Gateway, uint16(port)).String())
			switch {
			case err == nil:
				lns = append(lns, listener{ln: gw, requireAuth: true})
				s.gateway = true
			case isAddrNotAvailable(err):
				// The Engine is not on this host (DOCKER_HOST elsewhere).
				s.cfg.Logger.Warn("metadata endpoint: the Docker bridge gateway is not an address of this host; bridge and awsvpc containers cannot reach ecsd",
					"gateway", s.cfg.Gateway.String(), "err", err)
			default:
				lo.Close()
				lastErr = err
				continue // the port is taken there: try another
			}
		}
		if s.cfg.Listen != "" {
			l, err := net.Listen("tcp", s.cfg.Listen)
			if err != nil {
				for _, l := range lns {
					l.ln.Close()
				}
				return nil, 0, fmt.Errorf("metadata endpoint: %w", err)
			}
			lns = append(lns, listener{ln: l, requireAuth: true})
		}
		if l, err := net.Listen("tcp", netip.AddrPortFrom(LinkLocal, uint16(s.cfg.LinkLocalPort)).String()); err == nil {
			lns = append(lns, listener{ln: l})
			s.linkLocal = s.cfg.LinkLocalPort
		}
		return lns, port, nil
	}
	return nil, 0, fmt.Errorf("metadata endpoint: %w", lastErr)
}

func isAddrNotAvailable(err error) bool {
	return strings.Contains(err.Error(), "cannot assign requested address") || strings.Contains(err.Error(), "can't assign requested address")
}

func loadState(dir string) (state, error) {
	var st state
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, stateFile))
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &st); err != nil {
				return st, fmt.Errorf("metadata endpoint: %s: %w", stateFile, err)
			}
		case !errors.Is(err, os.ErrNotExist):
			return st, fmt.Errorf("metadata endpoint: %w", err)
		}
	}
	if len(st.Key) < 32 {
		st.Key = make([]byte, 32)
		if _, err := rand.Read(st.Key); err != nil {
			return st, err
		}
	}
	return st, nil
}

// saveState writes the key and port atomically, readable by the owner
// only: the key is what makes the tokens unguessable.
func saveState(dir string, st state) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("metadata endpoint: %w", err)
	}
	b, _ := json.Marshal(st)
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("metadata endpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("metadata endpoint: %w", err)
	}
	return nil
}

// Close stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	s.servers = nil
	return errors.Join(errs...)
}

// Port is the port the endpoints listen on (loopback and gateway).
func (s *Server) Port() int { return s.port }

// BaseURL is where a container of a task in networkMode reaches the
// endpoints.
func (s *Server) BaseURL(networkMode string) string {
	switch {
	case s.cfg.AdvertiseURL != "":
		return strings.TrimSuffix(s.cfg.AdvertiseURL, "/")
	case networkMode == driver.NetworkHost:
		return "http://127.0.0.1:" + strconv.Itoa(s.port)
	case s.linkLocal == 80:
		return "http://" + LinkLocal.String()
	case s.linkLocal != 0:
		return "http://" + netip.AddrPortFrom(LinkLocal, uint16(s.linkLocal)).String()
	case s.gateway:
		return "http://" + netip.AddrPortFrom(s.cfg.Gateway, uint16(s.port)).String()
	}
	return "http://127.0.0.1:" + strconv.Itoa(s.port)
}

// Decorate adds the endpoints' variables to every container of the group
// that runs task: the metadata URI, and for a task with a role the
// credentials URI and its authorization token. They come after the
// task's own variables, so they win, as the ECS agent's do.
func (s *Server) Decorate(spec *driver.GroupSpec, task types.Task, td types.TaskDefinition) {
	arn := deref(task.TaskArn)
	base := s.BaseURL(spec.NetworkMode)
	role := taskRole(task, td)
	exec := "AWS_ECS_EC2"
	if task.LaunchType == types.LaunchTypeFargate {
		exec = "AWS_ECS_FARGATE"
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		// The execution environment is a default the task may override.
		c.Env = append([]driver.EnvVar{{Name: EnvExecutionEnvironment, Value: exec}}, c.Env...)
		c.Env = append(c.Env, driver.EnvVar{Name: EnvMetadataURIV4, Value: base + "/v4/" + s.containerToken(arn, c.Name)})
		if role == "" {
			continue
		}
		path := "/v2/credentials/" + s.credentialsToken(arn)
		if s.linkLocal == 80 && spec.NetworkMode != driver.NetworkHost && s.cfg.AdvertiseURL == "" {
			c.Env = append(c.Env, driver.EnvVar{Name: EnvCredentialsRelative, Value: path})
			continue
		}
		c.Env = append(c.Env,
			driver.EnvVar{Name: EnvCredentialsFullURI, Value: base + path},
			driver.EnvVar{Name: EnvAuthorizationToken, Value: s.authorizationToken(arn)})
	}
}

// taskRole is the role the task's containers get: the override's, else
// the revision's.
func taskRole(task types.Task, td types.TaskDefinition) string {
	if task.Overrides != nil && deref(task.Overrides.TaskRoleArn) != "" {
		return deref(task.Overrides.TaskRoleArn)
	}
	return deref(td.TaskRoleArn)
}

// Tokens. A container token carries its task ARN and container name, so
// the server needs no table to find them, and a MAC under the server's
// key, so nobody can make one up.

func (s *Server) mac(domain string, parts ...string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(domain))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

var b64 = base64.RawURLEncoding

func (s *Server) containerToken(taskARN, container string) string {
	payload := taskARN + "\n" + container
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(s.mac("v4", taskARN, container)[:18])
}

func (s *Server) credentialsToken(taskARN string) string {
	return b64.EncodeToString([]byte(taskARN)) + "." + b64.EncodeToString(s.mac("credentials", taskARN)[:18])
}

func (s *Server) authorizationToken(taskARN string) string {
	return b64.EncodeToString(s.mac("authorization", taskARN)[:24])
}

// parseToken checks a token and returns its payload.
func (s *Server) parseToken(tok, domain string, split func(string) []string) ([]string, bool) {
	enc, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, false
	}
	payload, err := b64.DecodeString(enc)
	if err != nil {
		return nil, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return nil, false
	}
	parts := split(string(payload))
	want := s.mac(domain, parts...)[:18]
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, false
	}
	return parts, true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
