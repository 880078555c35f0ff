// Package execsession is ECS Exec's far end: the sessions ExecuteCommand
// opens and the Session Manager data channel that serves them over
// WebSocket, speaking to the real session-manager-plugin as the SSM agent
// and its message gateway would, and bridging each session to a process
// the runtime starts in the container (driver.Execer).
//
// It knows sessions, the data-channel protocol and the driver seam; it
// must never import a runtime (Docker, Kubernetes), the ECS domain, the
// store or the protocol and use-case layers above it.
package execsession

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd/ecsd/internal/driver"
)

// Path is where the data channels are served: the stream URL of a session
// is ws://HOST/v1/data-channel/SESSION-ID?role=publish_subscribe, the
// path AWS's own stream URLs have.
const Path = "/v1/data-channel/"

// Defaults.
const (
	// DefaultTokenTTL is how long a session waits for its data channel.
	// The AWS CLI opens it right after ExecuteCommand answers.
	DefaultTokenTTL = time.Minute
	// DefaultIdleTimeout is ECS Exec's idle timeout: "The ECS Exec
	// session has an idle timeout time of 20 minutes."
	DefaultIdleTimeout = 20 * time.Minute
	// retention is how long an ended session is remembered, so a reused
	// token is told so rather than that the session does not exist.
	retention = 10 * time.Minute
	// handshakeTimeout bounds each step before the process starts.
	handshakeTimeout = 30 * time.Second
)

// Errors Open returns (wrapped).
var (
	// ErrClosed: the manager is shutting down.
	ErrClosed = errors.New("exec sessions are closed")
)

// Config configures a Manager.
type Config struct {
	// Driver reports whether a container runs (Open checks it); Execer
	// starts the processes. Both are the runtime's.
	Driver driver.Driver
	Execer driver.Execer
	// TokenTTL is how long an opened session waits for its data channel
	// (0: DefaultTokenTTL). A token is good for one data channel.
	TokenTTL time.Duration
	// IdleTimeout ends a session that has had no input for that long (0:
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	Logger      *slog.Logger
	// NowFunc is the clock (nil: time.Now).
	NowFunc func() time.Time
}

// Target is what a session runs and where.
type Target struct {
	// Group and Container name the container in the runtime.
	Group, Container string
	// Command is ExecuteCommand's command, split as the agent splits it
	// (SplitCommand) when the data channel opens.
	Command string
	// Host is where the client reached ecsd (host:port); the stream URL
	// names it.
	Host string
	// Describe is for the log (task and container ARNs).
	Describe string
}

// Session is what ExecuteCommand answers.
type Session struct {
	ID, StreamURL, Token string
}

// Manager opens sessions and serves their data channels. It is an
// http.Handler for Path.
type Manager struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	active   sync.WaitGroup
}

type sessionState int

const (
	statePending sessionState = iota
	stateActive
	stateEnded
)

type session struct {
	id, token string
	target    Target
	created   time.Time
	state     sessionState
	ended     time.Time
	ch        *channel
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Manager{
		cfg:      cfg,
		sessions: map[string]*session{},
		upgrader: websocket.Upgrader{
			HandshakeTimeout: handshakeTimeout,
			// The token, not the page a browser came from, authorizes a
			// data channel.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
}

// Open starts a session for t once its container is seen running; the
// process starts when the client opens the data channel. A container the
// runtime does not know, or that does not run, is driver.ErrNotFound or
// driver.ErrNotRunning (wrapped).
func (m *Manager) Open(ctx context.Context, t Target) (Session, error) {
	if m.cfg.Driver != nil {
		g, err := m.cfg.Driver.Inspect(ctx, t.Group)
		if err != nil {
			return Session{}, err
		}
		found := false
		for _, c := range g.Containers {
			if c.Name == t.Container {
				found = true
				if c.Status != driver.StatusRunning {
					return Session{}, fmt.Errorf("%w: container %s is %s", driver.ErrNotRunning, c.Name, c.Status)
				}
			}
		}
		if !found {
			return Session{}, fmt.Errorf("%w: no container %s in group %s", driver.ErrNotFound, t.Container, t.Group)
		}
	}
	s := &session{id: newSessionID(), token: newToken(), target: t, created: m.cfg.NowFunc()}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Session{}, ErrClosed
	}
	m.sweepLocked()
	m.sessions[s.id] = s
	m.cfg.Logger.Info("exec session opened", "session", s.id, "target", t.Describe, "container", t.Container)
	return Session{
		ID:        s.id,
		StreamURL: "ws://" + t.Host + Path + s.id + "?role=publish_subscribe",
		Token:     s.token,
	}, nil
}

// newSessionID is an ID as ECS forms them: "ecs-execute-command-"
// followed by a 0 and 16 hex digits.
func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ecs-execute-command-0" + hex.EncodeToString(b[:])
}

func newToken() string {
	var b [64]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// sweepLocked forgets sessions that can no longer be used and have been
// remembered long enough.
func (m *Manager) sweepLocked() {
	now := m.cfg.NowFunc()
	for id, s := range m.sessions {
		switch {
		case s.state == stateEnded && now.Sub(s.ended) > retention:
			delete(m.sessions, id)
		case s.state == statePending && now.Sub(s.created) > m.cfg.TokenTTL+retention:
			delete(m.sessions, id)
		}
	}
}

// Messages a client is closed with before its session runs. The plugin
// prints "SessionId: ID : MESSAGE" and exits.
const (
	msgUnknownSession = "The session does not exist or has ended."
	msgBadToken       = "The session token is not valid."
	msgUsedToken      = "The session token was already used; run ExecuteCommand again for a new session."
	msgExpired        = "The session expired before its data channel was opened; run ExecuteCommand again for a new session."
	msgBadOpen        = "The data channel must open with an OpenDataChannelInput message carrying the session token."
	msgShutdown       = "ecsd is shutting down."
)

// ServeHTTP upgrades GET Path+ID to a WebSocket and runs the data channel
// of session ID. Every refusal after the upgrade is a channel_closed
// message saying why, so the plugin prints it and exits instead of
// retrying.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, Path)
	conn, err := m.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered the HTTP request.
		return
	}
	conn.SetReadLimit(maxFrame)
	s, msg := m.claim(conn, id)
	if s == nil {
		refuse(conn, id, msg, m.cfg.Logger)
		return
	}
	defer m.active.Done()
	defer m.end(s)
	s.ch.run()
}

// maxFrame bounds one WebSocket message: the plugin sends at most 1 KiB
// of input per message.
const maxFrame = 64 << 10

// claim reads the opening message and, if its token opens session id,
// marks the session active and returns it with its channel.
func (m *Manager) claim(conn *websocket.Conn, id string) (*session, string) {
	_ = conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	typ, b, err := conn.ReadMessage()
	if err != nil {
		return nil, msgBadOpen
	}
	_ = conn.SetReadDeadline(time.Time{})
	var in OpenDataChannelInput
	if typ != websocket.TextMessage || json.Unmarshal(b, &in) != nil || in.TokenValue == "" {
		return nil, msgBadOpen
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, msgShutdown
	}
	s, ok := m.sessions[id]
	switch {
	case !ok:
		return nil, msgUnknownSession
	case subtle.ConstantTimeCompare([]byte(in.TokenValue), []byte(s.token)) != 1:
		return nil, msgBadToken
	case s.state != statePending:
		return nil, msgUsedToken
	case m.cfg.NowFunc().Sub(s.created) > m.cfg.TokenTTL:
		s.state, s.ended = stateEnded, m.cfg.NowFunc()
		return nil, msgExpired
	}
	s.state = stateActive
	s.ch = newChannel(m, s, conn)
	m.active.Add(1)
	m.cfg.Logger.Info("exec data channel opened", "session", s.id, "client", in.ClientId, "clientVersion", in.ClientVersion)
	return s, ""
}

func (m *Manager) end(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Remembered for a while to answer a reused token; its buffers are
	// not.
	s.state, s.ended, s.ch = stateEnded, m.cfg.NowFunc(), nil
}

// Close ends every session (its client is told ecsd is shutting down, its
// process is hung up on) and refuses new ones. It returns once the
// sessions have ended or ctx is done.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, s := range m.sessions {
		if s.state == stateActive && s.ch != nil {
			s.ch.stop(msgShutdown)
		}
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		m.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("exec sessions still ending: %w", ctx.Err())
	}
}

// refuse tells a client why its data channel will not run and closes it.
func refuse(conn *websocket.Conn, sessionID, output string, log *slog.Logger) {
	log.Info("exec data channel refused", "session", sessionID, "reason", output)
	defer conn.Close()
	frame, err := channelClosedFrame(sessionID, output)
	if err == nil {
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_ = conn.WriteMessage(websocket.BinaryMessage, frame)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(writeTimeout))
}

// channelClosedFrame is the message that ends a session, with output for
// the client to print ("" for a session that ended normally).
func channelClosedFrame(sessionID, output string) ([]byte, error) {
	msg := NewMessage(ChannelClosed, 0, 0, nil)
	payload, err := json.Marshal(ChannelClosedContent{
		MessageId:     msg.ID.String(),
		CreatedDate:   time.UnixMilli(int64(msg.CreatedDate)).UTC().Format("2006-01-02T15:04:05.000Z"),
		SessionId:     sessionID,
		MessageType:   ChannelClosed,
		SchemaVersion: 1,
		Output:        output,
	})
	if err != nil {
		return nil, err
	}
	msg.Payload = payload
	return msg.Marshal()
}
