package execsession

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd/ecsd/internal/driver"
)

// The data channel against a client written here from the plugin's
// source, and a scripted process. The real plugin and the Docker runtime
// are driven end to end in internal/e2e.

const patience = 20 * time.Second

// fakeProc is a process whose output the test writes and whose input,
// sizes and hang-up the test reads.
type fakeProc struct {
	outR *io.PipeReader
	outW *io.PipeWriter

	mu      sync.Mutex
	input   bytes.Buffer
	sizes   []driver.TerminalSize
	closed  bool
	exit    int
	exited  chan struct{}
	exitSet sync.Once
}

func newFakeProc() *fakeProc {
	r, w := io.Pipe()
	return &fakeProc{outR: r, outW: w, exited: make(chan struct{})}
}

func (p *fakeProc) Read(b []byte) (int, error) { return p.outR.Read(b) }
func (p *fakeProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.input.Write(b)
}
func (p *fakeProc) CloseWrite() error { return nil }
func (p *fakeProc) Resize(_ context.Context, s driver.TerminalSize) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sizes = append(p.sizes, s)
	return nil
}
func (p *fakeProc) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.exited:
		return p.exit, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
func (p *fakeProc) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.finish(129)
	return nil
}

// finish makes the process exit with code after its output so far.
func (p *fakeProc) finish(code int) {
	p.exitSet.Do(func() {
		p.exit = code
		close(p.exited)
		p.outW.Close()
	})
}

func (p *fakeProc) state() (string, []driver.TerminalSize, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.input.String(), append([]driver.TerminalSize(nil), p.sizes...), p.closed
}

// fakeRuntime hands out one fakeProc per Exec and records the options.
type fakeRuntime struct {
	mu    sync.Mutex
	procs []*fakeProc
	opts  []driver.ExecOptions
	err   error
	made  chan *fakeProc
}

func (r *fakeRuntime) Exec(_ context.Context, id, container string, opts driver.ExecOptions) (driver.ExecProcess, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	p := newFakeProc()
	r.procs = append(r.procs, p)
	r.opts = append(r.opts, opts)
	r.made <- p
	return p, nil
}

type harness struct {
	m   *Manager
	rt  *fakeRuntime
	srv *httptest.Server
	now time.Time
	nmu sync.Mutex
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{rt: &fakeRuntime{made: make(chan *fakeProc, 8)}, now: time.Now()}
	cfg.Execer = h.rt
	cfg.NowFunc = func() time.Time {
		h.nmu.Lock()
		defer h.nmu.Unlock()
		return h.now
	}
	h.m = New(cfg)
	mux := http.NewServeMux()
	mux.Handle("GET "+Path+"{id}", h.m)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := h.m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		h.srv.Close()
	})
	return h
}

func (h *harness) advance(d time.Duration) {
	h.nmu.Lock()
	h.now = h.now.Add(d)
	h.nmu.Unlock()
}

func (h *harness) open(t *testing.T, command string) Session {
	t.Helper()
	s, err := h.m.Open(context.Background(), Target{Group: "g", Container: "app", Command: command,
		Host: strings.TrimPrefix(h.srv.URL, "http://")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func (h *harness) proc(t *testing.T) *fakeProc {
	t.Helper()
	select {
	case p := <-h.rt.made:
		return p
	case <-time.After(patience):
		t.Fatal("no process was started")
		return nil
	}
}

// client is the plugin's side of a data channel.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	seq  int64 // next input sequence number
	// dropFirstOutput, when set, ignores the first output message, as
	// the plugin does while its session handler is not ready.
	dropFirstOutput bool
	expected        int64
	out             bytes.Buffer
	acked           map[int64]bool
	ahead           map[int64]Message
	closedWith      *ChannelClosedContent
	handshake       *HandshakeRequest
	sawComplete     bool
	resent          int
}

func dial(t *testing.T, s Session, token string) *client {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(s.StreamURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", s.StreamURL, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	open, _ := json.Marshal(OpenDataChannelInput{MessageSchemaVersion: "1.0", RequestId: "r", TokenValue: token, ClientId: "c", ClientVersion: "1.3.0.0"})
	if err := conn.WriteMessage(websocket.TextMessage, open); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: conn, acked: map[int64]bool{}, ahead: map[int64]Message{}}
}

func (c *client) sendInput(pt PayloadType, payload []byte) {
	c.t.Helper()
	b, err := NewMessage(InputStreamData, c.seq, pt, payload).Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	c.seq++
	c.raw(b)
}

func (c *client) raw(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) ack(m Message) {
	c.t.Helper()
	p, _ := json.Marshal(AcknowledgeContent{MessageType: m.Type, MessageID: m.ID.String(), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true})
	b, _ := NewMessage(Acknowledge, 0, 0, p).Marshal()
	c.raw(b)
}

// step reads one message and acts on it as the plugin does. It returns
// false once the channel is closed.
func (c *client) step() bool {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(patience))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		return false
	}
	if typ != websocket.BinaryMessage {
		c.t.Fatalf("text message from the server: %q", b)
	}
	m, err := Parse(b)
	if err != nil {
		c.t.Fatalf("server sent a malformed message: %v", err)
	}
	switch m.Type {
	case Acknowledge:
		var a AcknowledgeContent
		if err := json.Unmarshal(m.Payload, &a); err != nil {
			c.t.Fatalf("acknowledge payload: %v", err)
		}
		c.acked[a.SequenceNumber] = true
	case ChannelClosed:
		var cc ChannelClosedContent
		if err := json.Unmarshal(m.Payload, &cc); err != nil {
			c.t.Fatalf("channel_closed payload: %v", err)
		}
		c.closedWith = &cc
	case OutputStreamData:
		if m.SequenceNumber < c.expected {
			c.resent++
			return true
		}
		if m.PayloadType == PayloadOutput && c.dropFirstOutput {
			c.dropFirstOutput = false
			return true
		}
		if m.SequenceNumber > c.expected {
			// The plugin keeps and acknowledges what comes ahead of a gap.
			c.ahead[m.SequenceNumber] = m
			c.ack(m)
			return true
		}
		c.process(m)
		for {
			next, ok := c.ahead[c.expected]
			if !ok {
				break
			}
			delete(c.ahead, c.expected)
			c.process(next)
		}
	}
	return true
}

// process handles the output message the plugin expects next.
func (c *client) process(m Message) {
	c.t.Helper()
	switch m.PayloadType {
	case PayloadHandshakeRequest:
		var hr HandshakeRequest
		if err := json.Unmarshal(m.Payload, &hr); err != nil {
			c.t.Fatal(err)
		}
		c.handshake = &hr
		c.ack(m)
		resp, _ := json.Marshal(HandshakeResponse{ClientVersion: "1.3.0.0", ProcessedClientActions: []ProcessedClientAction{{ActionType: ActionSessionType, ActionStatus: 1}}})
		c.sendInput(PayloadHandshakeResponse, resp)
	case PayloadHandshakeComplete:
		c.sawComplete = true
		c.ack(m)
	case PayloadOutput:
		c.out.Write(m.Payload)
		c.ack(m)
	default:
		c.t.Fatalf("unexpected payload type %d", m.PayloadType)
	}
	c.expected++
}

// until steps until cond holds or the channel closes.
func (c *client) until(what string, cond func() bool) {
	c.t.Helper()
	for !cond() {
		if !c.step() {
			if cond() {
				return
			}
			c.t.Fatalf("channel closed before %s; output %q, closed with %+v", what, c.out.String(), c.closedWith)
		}
	}
}

// drainToClose steps until the server closes the connection.
func (c *client) drainToClose() {
	c.t.Helper()
	for c.step() {
	}
}

func sizePayload(cols, rows uint32) []byte {
	b, _ := json.Marshal(SizeData{Cols: cols, Rows: rows})
	return b
}

func TestSessionRoundTrip(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.open(t, `sh -c 'echo "hi there"'`)
	if !strings.HasPrefix(s.ID, "ecs-execute-command-0") || len(s.ID) != len("ecs-execute-command-")+17 {
		t.Errorf("session id %q", s.ID)
	}
	if want := h.srv.URL[len("http"):] + Path + s.ID + "?role=publish_subscribe"; s.StreamURL != "ws"+want {
		t.Errorf("stream url %q", s.StreamURL)
	}
	c := dial(t, s, s.Token)
	c.dropFirstOutput = true // proves the resend
	c.until("the handshake completes", func() bool { return c.sawComplete })
	if hr := c.handshake; hr == nil || len(hr.RequestedClientActions) != 1 || hr.RequestedClientActions[0].ActionType != ActionSessionType {
		t.Fatalf("handshake request %+v", hr)
	}
	params, _ := json.Marshal(c.handshake.RequestedClientActions[0].ActionParameters)
	if !strings.Contains(string(params), `"SessionType":"InteractiveCommands"`) {
		t.Errorf("session type parameters %s", params)
	}
	c.sendInput(PayloadSize, sizePayload(120, 40))
	p := h.proc(t)
	opts := h.rt.opts[0]
	if strings.Join(opts.Command, "|") != `sh|-c|echo "hi there"` || !opts.TTY || opts.User != "0" ||
		opts.Size != (driver.TerminalSize{Cols: 120, Rows: 40}) {
		t.Errorf("exec options %+v", opts)
	}
	io.WriteString(p.outW, "first\r\n")
	io.WriteString(p.outW, "second\r\n")
	c.until("both outputs", func() bool { return strings.Contains(c.out.String(), "second") })
	if c.out.String() != "first\r\nsecond\r\n" {
		t.Errorf("output %q: the dropped message was not resent in order", c.out.String())
	}
	c.sendInput(PayloadOutput, []byte("typed\r"))
	c.sendInput(PayloadSize, sizePayload(80, 24))
	c.until("the input is acknowledged", func() bool { return c.acked[c.seq-1] })
	waitFor(t, "the input and resize reach the process", func() bool {
		in, sizes, _ := p.state()
		return in == "typed\r" && len(sizes) > 0 && sizes[len(sizes)-1] == driver.TerminalSize{Cols: 80, Rows: 24}
	})
	io.WriteString(p.outW, "bye\r\n")
	p.finish(3)
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != "" || c.closedWith.SessionId != s.ID || c.closedWith.MessageType != ChannelClosed {
		t.Fatalf("channel closed with %+v", c.closedWith)
	}
	if !strings.HasSuffix(c.out.String(), "bye\r\n") {
		t.Errorf("output %q lacks what was written before exit", c.out.String())
	}
	for i := int64(0); i < c.seq; i++ {
		if !c.acked[i] {
			t.Errorf("input %d never acknowledged", i)
		}
	}

	// The token opened one data channel; it opens no second one.
	c2 := dial(t, s, s.Token)
	c2.drainToClose()
	if c2.closedWith == nil || c2.closedWith.Output != msgUsedToken {
		t.Errorf("reused token: closed with %+v", c2.closedWith)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSessionRefusals(t *testing.T) {
	h := newHarness(t, Config{TokenTTL: time.Minute})
	refused := func(s Session, token, want string) {
		t.Helper()
		c := dial(t, s, token)
		c.drainToClose()
		if c.closedWith == nil || c.closedWith.Output != want || c.closedWith.SessionId != s.ID {
			t.Errorf("closed with %+v, want output %q", c.closedWith, want)
		}
	}
	s := h.open(t, "sh")
	refused(s, "not the token", msgBadToken)
	refused(Session{ID: "ecs-execute-command-0000000000000000", StreamURL: strings.Replace(s.StreamURL, s.ID, "ecs-execute-command-0000000000000000", 1)}, s.Token, msgUnknownSession)
	// A wrong token does not burn the session.
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.conn.Close()

	late := h.open(t, "sh")
	h.advance(time.Minute + time.Second)
	refused(late, late.Token, msgExpired)
	refused(late, late.Token, msgUsedToken)

	// A first message that is not OpenDataChannelInput.
	s3 := h.open(t, "sh")
	conn, resp, err := websocket.DefaultDialer.Dial(s3.StreamURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	conn.WriteMessage(websocket.BinaryMessage, []byte("garbage"))
	cl := &client{t: t, conn: conn, acked: map[int64]bool{}, ahead: map[int64]Message{}}
	cl.drainToClose()
	if cl.closedWith == nil || cl.closedWith.Output != msgBadOpen {
		t.Errorf("garbage opening: closed with %+v", cl.closedWith)
	}
	// ... and the session is still there for its real client.
	c4 := dial(t, s3, s3.Token)
	c4.until("the handshake", func() bool { return c4.sawComplete })
}

func TestSessionCommandErrors(t *testing.T) {
	h := newHarness(t, Config{})
	c := dial(t, h.open(t, `echo 'unterminated`), "")
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != msgBadOpen {
		t.Fatalf("empty token: closed with %+v", c.closedWith)
	}
	s := h.open(t, `echo 'unterminated`)
	c = dial(t, s, s.Token)
	c.drainToClose()
	if c.closedWith == nil || !strings.HasPrefix(c.closedWith.Output, "Failed to parse commands input: ") {
		t.Fatalf("bad command: closed with %+v", c.closedWith)
	}
	h.rt.err = driver.ErrNotRunning
	s = h.open(t, "sh")
	c = dial(t, s, s.Token)
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != "The container is no longer running." {
		t.Fatalf("container gone: closed with %+v", c.closedWith)
	}
}

func TestSessionClientGoneHangsUp(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.open(t, "sh")
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.sendInput(PayloadSize, sizePayload(80, 24))
	p := h.proc(t)
	c.conn.Close()
	waitFor(t, "the process is hung up on", func() bool { _, _, closed := p.state(); return closed })
}

func TestSessionTerminateFlag(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.open(t, "sh")
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.sendInput(PayloadSize, sizePayload(80, 24))
	p := h.proc(t)
	flag := make([]byte, 4)
	binary.BigEndian.PutUint32(flag, flagTerminateSession)
	c.sendInput(PayloadFlag, flag)
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != "" {
		t.Errorf("closed with %+v", c.closedWith)
	}
	waitFor(t, "the process is hung up on", func() bool { _, _, closed := p.state(); return closed })
}

func TestSessionIdle(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: 300 * time.Millisecond})
	s := h.open(t, "sh")
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.sendInput(PayloadSize, sizePayload(80, 24))
	p := h.proc(t)
	c.drainToClose()
	if c.closedWith == nil || !strings.Contains(c.closedWith.Output, "idle for 300ms") {
		t.Errorf("closed with %+v", c.closedWith)
	}
	waitFor(t, "the process is hung up on", func() bool { _, _, closed := p.state(); return closed })
}

func TestSessionShutdown(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.open(t, "sh")
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.sendInput(PayloadSize, sizePayload(80, 24))
	p := h.proc(t)
	done := make(chan error, 1)
	go func() { done <- h.m.Close(context.Background()) }()
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != msgShutdown {
		t.Errorf("closed with %+v", c.closedWith)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, closed := p.state(); !closed {
		t.Error("the process was not hung up on")
	}
	if _, err := h.m.Open(context.Background(), Target{Group: "g", Container: "app", Command: "sh"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close = %v", err)
	}
}

// TestSessionMalformedInput: garbage, tampered and out-of-order frames
// neither end the session nor reach the process out of order.
func TestSessionMalformedInput(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.open(t, "sh")
	c := dial(t, s, s.Token)
	c.until("the handshake", func() bool { return c.sawComplete })
	c.sendInput(PayloadSize, sizePayload(80, 24))
	p := h.proc(t)
	c.raw([]byte{1, 2, 3})
	c.raw(make([]byte, 200))
	tampered, _ := NewMessage(InputStreamData, c.seq, PayloadOutput, []byte("evil")).Marshal()
	tampered[len(tampered)-1] ^= 0xff
	c.raw(tampered)
	badJSON, _ := NewMessage(Acknowledge, 0, 0, []byte("{")).Marshal()
	c.raw(badJSON)
	c.conn.WriteMessage(websocket.TextMessage, []byte("not a frame"))
	// Sequence numbers 1 ahead, then the one missing, then a duplicate.
	ahead, _ := NewMessage(InputStreamData, c.seq+1, PayloadOutput, []byte("B")).Marshal()
	c.raw(ahead)
	c.sendInput(PayloadOutput, []byte("A"))
	c.seq++
	c.raw(ahead)
	c.sendInput(PayloadOutput, []byte("C"))
	waitFor(t, "the input reaches the process in order", func() bool { in, _, _ := p.state(); return in == "ABC" })
	io.WriteString(p.outW, "still here")
	c.until("output after the garbage", func() bool { return strings.Contains(c.out.String(), "still here") })
	p.finish(0)
	c.drainToClose()
	if c.closedWith == nil || c.closedWith.Output != "" {
		t.Errorf("closed with %+v", c.closedWith)
	}
}

var fuzzChannel struct {
	once sync.Once
	c    *channel
}

// FuzzChannelReceive: whatever a client sends, raw or well framed with any
// sequence number, payload type and payload, the channel neither panics
// nor grows without bound.
func FuzzChannelReceive(f *testing.F) {
	f.Add([]byte{}, int64(0), uint32(PayloadHandshakeResponse), []byte(`{"ClientVersion":"1.3.0.0","ProcessedClientActions":[],"Errors":["x"]}`))
	f.Add([]byte("garbage"), int64(1), uint32(PayloadSize), []byte(`{"cols":4294967295,"rows":0}`))
	f.Add([]byte{}, int64(2), uint32(PayloadOutput), []byte("ls\r"))
	f.Add([]byte{}, int64(-5), uint32(PayloadFlag), []byte{0, 0, 0, 2})
	f.Add([]byte{}, int64(1<<62), uint32(PayloadOutput), []byte("far ahead"))
	f.Add([]byte{}, int64(3), uint32(0), []byte(`{"AcknowledgedMessageSequenceNumber":0}`))
	f.Fuzz(func(t *testing.T, raw []byte, seq int64, pt uint32, payload []byte) {
		fuzzChannel.once.Do(func() {
			// A live WebSocket whose far end reads and discards, so the
			// channel's acknowledgements have somewhere to go.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
				if err != nil {
					return
				}
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						return
					}
				}
			}))
			conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				panic(err)
			}
			resp.Body.Close()
			m := New(Config{})
			fuzzChannel.c = newChannel(m, &session{id: "ecs-execute-command-0000000000000000"}, conn)
		})
		c := fuzzChannel.c
		c.receive(websocket.BinaryMessage, raw)
		c.receive(websocket.TextMessage, raw)
		typ := InputStreamData
		if seq%3 == 0 {
			typ = Acknowledge
		}
		frame, err := NewMessage(typ, seq, PayloadType(pt), payload).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c.receive(websocket.BinaryMessage, frame)
		if len(c.ahead) > maxOutOfOrder {
			t.Fatalf("%d messages kept ahead of a gap", len(c.ahead))
		}
		c.stdin.mu.Lock()
		size := c.stdin.size
		c.stdin.mu.Unlock()
		if size > 2*maxInputBacklog || c.aheadBytes > maxInputBacklog {
			t.Fatalf("input backlog %d bytes", size)
		}
	})
}
