package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// The Docker labels the ECS agent puts on a task's containers; the
// metadata reports them with the container's dockerLabels.
const (
	labelTaskARN       = "com.amazonaws.ecs.task-arn"
	labelCluster       = "com.amazonaws.ecs.cluster"
	labelFamily        = "com.amazonaws.ecs.task-definition-family"
	labelRevision      = "com.amazonaws.ecs.task-definition-version"
	labelContainerName = "com.amazonaws.ecs.container-name"
)

func (s *Server) handler(requireAuth bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v4/{token}", s.withTask(func(w http.ResponseWriter, r *http.Request, tc *taskContext) {
		c, ok := tc.container(tc.name)
		if !ok {
			writeError(w, http.StatusNotFound, "container %s is not part of the task", tc.name)
			return
		}
		writeJSON(w, c)
	}))
	mux.HandleFunc("GET /v4/{token}/task", s.withTask(func(w http.ResponseWriter, r *http.Request, tc *taskContext) {
		writeJSON(w, tc.task(nil))
	}))
	mux.HandleFunc("GET /v4/{token}/taskWithTags", s.withTask(func(w http.ResponseWriter, r *http.Request, tc *taskContext) {
		tags := map[string]string{}
		for _, t := range tc.tags {
			tags[t.Key] = t.Value
		}
		writeJSON(w, tc.task(tags))
	}))
	mux.HandleFunc("GET /v4/{token}/stats", s.withTask(func(w http.ResponseWriter, r *http.Request, tc *taskContext) {
		writeJSON(w, s.stats(r.Context(), tc.id, tc.name))
	}))
	mux.HandleFunc("GET /v4/{token}/task/stats", s.withTask(func(w http.ResponseWriter, r *http.Request, tc *taskContext) {
		out := map[string]json.RawMessage{}
		for _, c := range tc.t.Containers {
			if id := deref(c.RuntimeId); id != "" {
				out[id] = s.stats(r.Context(), tc.id, deref(c.Name))
			}
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /v2/credentials/{token}", func(w http.ResponseWriter, r *http.Request) {
		s.credentials(w, r, requireAuth)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such metadata path")
	})
	return mux
}

// taskContext is what one request reads: the task, its revision and what
// the runtime reports, in one go.
type taskContext struct {
	id, name string // task ID, container name from the token
	t        types.Task
	td       types.TaskDefinition
	g        driver.GroupState // zero if the runtime has no group
	tags     []store.Tag
}

// withTask resolves the container token and reads the task.
func (s *Server) withTask(h func(http.ResponseWriter, *http.Request, *taskContext)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		parts, ok := s.parseToken(r.PathValue("token"), "v4", func(p string) []string {
			arn, name, _ := strings.Cut(p, "\n")
			return []string{arn, name}
		})
		if !ok {
			writeError(w, http.StatusNotFound, "unknown metadata token")
			return
		}
		tc, err := s.load(r.Context(), parts[0])
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, store.ErrNotFound) {
				status = http.StatusNotFound
			}
			writeError(w, status, "%v", err)
			return
		}
		tc.name = parts[1]
		h(w, r, tc)
	}
}

func (s *Server) load(ctx context.Context, arn string) (*taskContext, error) {
	ref, ok := ecs.ParseResourceRef("task", arn)
	if !ok || ref.Cluster == "" {
		return nil, fmt.Errorf("%w: task %s", store.ErrNotFound, arn)
	}
	scope := store.Scope{Account: ref.Account, Region: ref.Region}
	tc := &taskContext{id: ref.Name}
	err := s.cfg.Store.View(ctx, func(tx store.ReadTx) error {
		rec, err := tx.Task(scope, ref.Cluster, ref.Name)
		if err != nil {
			return fmt.Errorf("task %s: %w", arn, err)
		}
		if tc.t, err = records.Task(rec); err != nil {
			return err
		}
		tdRec, err := tx.TaskDefinition(scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision)
		if err != nil {
			return fmt.Errorf("task definition of %s: %w", arn, err)
		}
		if tc.td, err = records.TaskDefinition(tdRec); err != nil {
			return err
		}
		tc.tags, err = tx.Tags(arn)
		return err
	})
	if err != nil {
		return nil, err
	}
	g, err := s.cfg.Driver.Inspect(ctx, tc.id)
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return nil, err
	}
	tc.g = g
	return tc, nil
}

// The ECS agent's v4 response shapes (ecs-agent/tmds/handlers/v2 and
// v4/state), field for field.

type taskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus,omitempty"`
	KnownStatus           string              `json:"KnownStatus"`
	Containers            []containerResponse `json:"Containers,omitempty"`
	Limits                *limits             `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	TaskTags              map[string]string   `json:"TaskTags,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	ServiceName           string              `json:"ServiceName,omitempty"`
	FaultInjectionEnabled bool                `json:"FaultInjectionEnabled"`
}

type containerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []port            `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        limits            `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	Networks      []network         `json:"Networks,omitempty"`
	Health        *health           `json:"Health,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
}

type limits struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

type port struct {
	ContainerPort int    `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      int    `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

type network struct {
	NetworkMode              string   `json:"NetworkMode,omitempty"`
	IPv4Addresses            []string `json:"IPv4Addresses,omitempty"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIPv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

type health struct {
	Status string `json:"status,omitempty"`
}

func (tc *taskContext) task(tags map[string]string) taskResponse {
	t := tc.t
	out := taskResponse{
		Cluster:            deref(t.ClusterArn),
		TaskARN:            deref(t.TaskArn),
		Family:             deref(tc.td.Family),
		Revision:           strconv.Itoa(int(tc.td.Revision)),
		DesiredStatus:      deref(t.DesiredStatus),
		KnownStatus:        deref(t.LastStatus),
		PullStartedAt:      utc(t.PullStartedAt),
		PullStoppedAt:      utc(t.PullStoppedAt),
		ExecutionStoppedAt: utc(t.ExecutionStoppedAt),
		AvailabilityZone:   deref(t.AvailabilityZone),
		LaunchType:         string(t.LaunchType),
		TaskTags:           tags,
	}
	if svc, ok := strings.CutPrefix(deref(t.Group), "service:"); ok {
		out.ServiceName = svc
	}
	// Task-level CPU is reported in vCPUs, memory in MiB.
	var lim limits
	if n, err := strconv.ParseFloat(deref(t.Cpu), 64); err == nil && n > 0 {
		v := n / 1024
		lim.CPU = &v
	}
	if n, err := strconv.ParseInt(deref(t.Memory), 10, 64); err == nil && n > 0 {
		lim.Memory = &n
	}
	if lim.CPU != nil || lim.Memory != nil {
		out.Limits = &lim
	}
	for _, c := range t.Containers {
		if cr, ok := tc.container(deref(c.Name)); ok {
			out.Containers = append(out.Containers, cr)
		}
	}
	return out
}

func (tc *taskContext) container(name string) (containerResponse, bool) {
	var c *types.Container
	for i := range tc.t.Containers {
		if deref(tc.t.Containers[i].Name) == name {
			c = &tc.t.Containers[i]
		}
	}
	var cd *types.ContainerDefinition
	for i := range tc.td.ContainerDefinitions {
		if deref(tc.td.ContainerDefinitions[i].Name) == name {
			cd = &tc.td.ContainerDefinitions[i]
		}
	}
	if c == nil || cd == nil {
		return containerResponse{}, false
	}
	var rs driver.ContainerState
	for _, s := range tc.g.Containers {
		if s.Name == name {
			rs = s
		}
	}
	// The runtime's report wins over the stored task where both have a
	// value: it is what the ECS agent knows first, and the supervisor
	// records it a moment later.
	out := containerResponse{
		DockerID:      firstOf(rs.RuntimeID, deref(c.RuntimeId)),
		Name:          name,
		DockerName:    rs.RuntimeName,
		Image:         deref(c.Image),
		ImageID:       firstOf(rs.ImageDigest, deref(c.ImageDigest)),
		DesiredStatus: deref(tc.t.DesiredStatus),
		KnownStatus:   knownStatus(rs, deref(c.LastStatus)),
		Type:          "NORMAL",
		ContainerARN:  deref(c.ContainerArn),
		Labels: map[string]string{
			labelTaskARN:       deref(tc.t.TaskArn),
			labelCluster:       deref(tc.t.ClusterArn),
			labelFamily:        deref(tc.td.Family),
			labelRevision:      strconv.Itoa(int(tc.td.Revision)),
			labelContainerName: name,
		},
	}
	for k, v := range cd.DockerLabels {
		if _, ecsOwn := out.Labels[k]; !ecsOwn {
			out.Labels[k] = v
		}
	}
	switch {
	case rs.ExitCode != nil:
		code := *rs.ExitCode
		out.ExitCode = &code
	case c.ExitCode != nil:
		code := int(*c.ExitCode)
		out.ExitCode = &code
	}
	cpu := float64(cd.Cpu)
	mem := int64(0)
	switch {
	case cd.Memory != nil:
		mem = int64(*cd.Memory)
	case cd.MemoryReservation != nil:
		mem = int64(*cd.MemoryReservation)
	}
	out.Limits = limits{CPU: &cpu, Memory: &mem}
	out.CreatedAt = timePtr(rs.CreatedAt)
	out.StartedAt = timePtr(rs.StartedAt)
	out.FinishedAt = timePtr(rs.FinishedAt)
	if cd.HealthCheck != nil {
		status := string(c.HealthStatus)
		if rs.Health != "" && rs.Status != "" {
			status = string(rs.Health)
		}
		out.Health = &health{Status: status}
	}
	if lc := cd.LogConfiguration; lc != nil {
		out.LogDriver, out.LogOptions = string(lc.LogDriver), lc.Options
	}
	mode := string(tc.td.NetworkMode)
	if mode == "" {
		mode = driver.NetworkBridge
	}
	switch mode {
	case driver.NetworkAwsvpc:
		// The task's interface, as DescribeTasks reports it; each port is
		// published on itself.
		n := network{NetworkMode: mode}
		zero := 0
		n.AttachmentIndex = &zero
		for _, a := range tc.t.Attachments {
			if deref(a.Type) != "ElasticNetworkInterface" {
				continue
			}
			for _, d := range a.Details {
				switch deref(d.Name) {
				case "privateIPv4Address":
					n.IPv4Addresses = []string{deref(d.Value)}
				case "macAddress":
					n.MACAddress = deref(d.Value)
				case "privateDnsName":
					n.PrivateDNSName = deref(d.Value)
				}
			}
		}
		out.Networks = []network{n}
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort != nil {
				p := int(*pm.ContainerPort)
				out.Ports = append(out.Ports, port{ContainerPort: p, HostPort: p, Protocol: protocol(string(pm.Protocol))})
			}
		}
	default:
		n := network{NetworkMode: mode}
		if rs.PrivateIP != "" {
			n.IPv4Addresses = []string{rs.PrivateIP}
		}
		out.Networks = []network{n}
		if len(rs.NetworkBindings) > 0 {
			for _, b := range rs.NetworkBindings {
				out.Ports = append(out.Ports, port{ContainerPort: b.ContainerPort, HostPort: b.HostPort, Protocol: protocol(b.Protocol), HostIP: b.BindIP})
			}
			break
		}
		for _, b := range c.NetworkBindings {
			out.Ports = append(out.Ports, port{
				ContainerPort: int(deref32(b.ContainerPort)), HostPort: int(deref32(b.HostPort)),
				Protocol: protocol(string(b.Protocol)), HostIP: deref(b.BindIP),
			})
		}
	}
	return out, true
}

// knownStatus is a container's status in ECS's words: the runtime's, if
// it reports the container, else the stored one.
func knownStatus(rs driver.ContainerState, stored string) string {
	switch rs.Status {
	case driver.StatusRunning:
		return "RUNNING"
	case driver.StatusExited:
		return "STOPPED"
	case driver.StatusCreated:
		if stored == "" {
			return "PENDING"
		}
	}
	return stored
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stats is a running container's stats document, or null.
func (s *Server) stats(ctx context.Context, id, name string) json.RawMessage {
	sr, ok := s.cfg.Driver.(driver.StatsReader)
	if !ok {
		return json.RawMessage("null")
	}
	b, err := sr.Stats(ctx, id, name)
	if err != nil {
		if !errors.Is(err, driver.ErrNotFound) {
			s.cfg.Logger.Warn("metadata endpoint: stats", "task", id, "container", name, "err", err)
		}
		return json.RawMessage("null")
	}
	return b
}

// credentialsResponse is what ECS's credentials endpoint answers.
type credentialsResponse struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

func (s *Server) credentials(w http.ResponseWriter, r *http.Request, requireAuth bool) {
	parts, ok := s.parseToken(r.PathValue("token"), "credentials", func(p string) []string { return []string{p} })
	if !ok {
		writeError(w, http.StatusBadRequest, "CredentialsV2Request: Credentials not found")
		return
	}
	arn := parts[0]
	if requireAuth {
		got := r.Header.Get("Authorization")
		if got == "" || !hmacEqual(got, s.authorizationToken(arn)) {
			writeError(w, http.StatusUnauthorized, "the Authorization header does not carry this task's AWS_CONTAINER_AUTHORIZATION_TOKEN")
			return
		}
	}
	tc, err := s.load(r.Context(), arn)
	if err != nil {
		writeError(w, http.StatusBadRequest, "CredentialsV2Request: Credentials not found")
		return
	}
	role := taskRole(tc.t, tc.td)
	if role == "" || deref(tc.t.LastStatus) == ecs.TaskStopped {
		writeError(w, http.StatusBadRequest, "CredentialsV2Request: Credentials not found")
		return
	}
	writeJSON(w, s.simulatedCredentials(arn, role, s.cfg.NowFunc()))
}

func hmacEqual(a, b string) bool {
	return len(a) == len(b) && subtleEq(a, b)
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func deref32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(fmt.Sprintf(format, args...))
}
