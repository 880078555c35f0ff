package execsession

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd/ecsd/internal/driver"
)

// One data channel: ecsd plays the SSM agent (and its message gateway) to
// the plugin. The sequence of a session:
//
//	client                         ecsd
//	text OpenDataChannelInput  ->                     (manager.claim)
//	                           <-  output 0 HandshakeRequest (SessionType InteractiveCommands)
//	input 0 HandshakeResponse  ->  acknowledge
//	                           <-  output 1 HandshakeComplete
//	input 1.. Size, Output     ->  acknowledge; resize, keystrokes to the process
//	                           <-  output 2.. Output (the terminal)
//	acknowledge                ->
//	                           <-  channel_closed (when the process exits)
//
// Both directions number their stream messages from 0 and acknowledge
// each one; unacknowledged ones are sent again, because the plugin drops
// (without acknowledging) output that arrives before its session handler
// is ready, and resends its own input the same way.

const (
	// agentVersion is what the handshake reports as the agent's version;
	// the plugin compares it only for port forwarding.
	agentVersion = "3.3.0.0"
	// window is how many output messages may await acknowledgement before
	// reading the process's output pauses.
	window = 256
	// resendAfter is how long an output message waits for its
	// acknowledgement before it is sent again.
	resendAfter = 300 * time.Millisecond
	// resendTick is how often unacknowledged messages are looked at.
	resendTick = 100 * time.Millisecond
	// writeTimeout bounds one WebSocket write, so a client that stopped
	// reading cannot hold a session forever.
	writeTimeout = 30 * time.Second
	// maxInputBacklog bounds the keystrokes waiting for the process; past
	// it input is left unacknowledged, and the plugin sends it again.
	maxInputBacklog = 1 << 20
	// maxOutOfOrder bounds the input messages kept ahead of a gap.
	maxOutOfOrder = 1024
	// firstSizeWait is how long the process waits for the client's
	// terminal size before it starts with none.
	firstSizeWait = 2 * time.Second
	// drainTimeout bounds the wait for the last output's acknowledgements
	// once the process has exited.
	drainTimeout = 10 * time.Second
)

type outMsg struct {
	seq    int64
	frame  []byte
	sentAt time.Time
}

type channel struct {
	m    *Manager
	s    *session
	conn *websocket.Conn
	log  *slog.Logger

	wmu sync.Mutex // one writer at a time, as gorilla/websocket requires

	omu     sync.Mutex
	ocond   *sync.Cond
	nextSeq int64
	unacked []*outMsg
	oclosed bool

	// Input state, owned by the reader goroutine.
	expected   int64
	ahead      map[int64]Message
	aheadBytes int

	stdin     *byteQueue
	sizes     chan SizeData
	handshake chan HandshakeResponse
	lastInput atomic.Int64 // unix nanoseconds
	terminate chan struct{}
	termOnce  sync.Once

	readDone chan struct{}
	stopped  chan string
}

func newChannel(m *Manager, s *session, conn *websocket.Conn) *channel {
	c := &channel{
		m: m, s: s, conn: conn,
		log:       m.cfg.Logger.With("session", s.id),
		ahead:     map[int64]Message{},
		stdin:     newByteQueue(maxInputBacklog),
		sizes:     make(chan SizeData, 1),
		handshake: make(chan HandshakeResponse, 1),
		terminate: make(chan struct{}),
		readDone:  make(chan struct{}),
		stopped:   make(chan string, 1),
	}
	c.ocond = sync.NewCond(&c.omu)
	c.lastInput.Store(time.Now().UnixNano())
	return c
}

// stop asks the session to end, telling the client why.
func (c *channel) stop(why string) {
	select {
	case c.stopped <- why:
	default:
	}
}

// run is the session, from the handshake to the channel_closed message.
func (c *channel) run() {
	defer c.conn.Close()
	go c.read()
	defer c.closeOutput()

	resendDone := make(chan struct{})
	defer close(resendDone)
	go c.resend(resendDone)

	output, proc := c.start()
	if proc == nil {
		c.finish(output)
		return
	}
	defer proc.Close()

	pumpDone := make(chan error, 1)
	go func() { pumpDone <- c.pump(proc) }()
	go c.feed(proc)
	go c.resize(proc)

	idle := time.NewTimer(c.m.cfg.IdleTimeout)
	defer idle.Stop()
	for {
		select {
		case err := <-pumpDone:
			// The process exited (its terminal closed) or its output
			// failed: let the client see the rest, then end.
			if err != nil {
				c.log.Warn("exec output ended with an error", "err", err)
			}
			c.drain()
			ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
			code, werr := proc.Wait(ctx)
			cancel()
			if werr == nil {
				c.log.Info("exec process exited", "exitCode", code)
			}
			c.finish("")
			return
		case <-c.readDone:
			c.log.Info("exec client went away; hanging up on the process")
			return
		case <-c.terminate:
			c.log.Info("exec client ended the session")
			c.finish("")
			return
		case why := <-c.stopped:
			c.finish(why)
			return
		case <-idle.C:
			since := time.Since(time.Unix(0, c.lastInput.Load()))
			if since < c.m.cfg.IdleTimeout {
				idle.Reset(c.m.cfg.IdleTimeout - since)
				continue
			}
			c.finish(fmt.Sprintf("The session was idle for %v and has been terminated.", c.m.cfg.IdleTimeout))
			return
		}
	}
}

// start runs the handshake and starts the process. Without a process it
// returns what to tell the client.
func (c *channel) start() (string, driver.ExecProcess) {
	began := time.Now()
	hs, err := json.Marshal(HandshakeRequest{
		AgentVersion: agentVersion,
		RequestedClientActions: []RequestedClientAction{{
			ActionType: ActionSessionType,
			ActionParameters: SessionTypeRequest{
				SessionType: SessionInteractive,
				Properties:  map[string]any{"commands": c.s.target.Command, "runAsElevated": true},
			},
		}},
	})
	if err != nil {
		return "Internal error: " + err.Error(), nil
	}
	if err := c.send(PayloadHandshakeRequest, hs); err != nil {
		return "", nil
	}
	var resp HandshakeResponse
	select {
	case resp = <-c.handshake:
	case <-c.readDone:
		return "", nil
	case why := <-c.stopped:
		return why, nil
	case <-time.After(handshakeTimeout):
		return "The client did not answer the session handshake.", nil
	}
	if len(resp.Errors) > 0 {
		return "Session handshake failed: " + strings.Join(resp.Errors, "; "), nil
	}
	done, err := json.Marshal(HandshakeComplete{HandshakeTimeToComplete: time.Since(began)})
	if err != nil {
		return "Internal error: " + err.Error(), nil
	}
	if err := c.send(PayloadHandshakeComplete, done); err != nil {
		return "", nil
	}

	// The plugin sends its terminal's size as soon as its session starts;
	// starting the process with it spares a redraw.
	var size driver.TerminalSize
	select {
	case s := <-c.sizes:
		size = driver.TerminalSize{Cols: uint(s.Cols), Rows: uint(s.Rows)}
	case <-time.After(firstSizeWait):
	case <-c.readDone:
		return "", nil
	}

	argv, err := SplitCommand(c.s.target.Command)
	if err != nil {
		return "Failed to parse commands input: " + err.Error(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	proc, err := c.m.cfg.Execer.Exec(ctx, c.s.target.Group, c.s.target.Container, driver.ExecOptions{
		Command: argv,
		// ECS Exec runs commands as root, whatever the container's user,
		// with the agent's terminal settings.
		User:       "0",
		TTY:        true,
		Size:       size,
		Env:        []driver.EnvVar{{Name: "TERM", Value: "xterm-256color"}, {Name: "HOME", Value: "/root"}},
		DefaultEnv: []driver.EnvVar{{Name: "LANG", Value: "C.UTF-8"}},
	})
	switch {
	case errors.Is(err, driver.ErrNotFound), errors.Is(err, driver.ErrNotRunning):
		c.log.Info("exec target gone", "err", err)
		return "The container is no longer running.", nil
	case err != nil:
		c.log.Warn("exec failed", "err", err)
		return "Failed to start the command: " + err.Error(), nil
	}
	c.log.Info("exec process started", "command", argv, "cols", size.Cols, "rows", size.Rows)
	return "", proc
}

// finish sends channel_closed with output and closes the WebSocket.
func (c *channel) finish(output string) {
	frame, err := channelClosedFrame(c.s.id, output)
	if err == nil {
		_ = c.write(websocket.BinaryMessage, frame)
	}
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(writeTimeout))
	c.wmu.Unlock()
}

func (c *channel) write(typ int, frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.conn.WriteMessage(typ, frame)
}

// send numbers and sends one output stream message, waiting while the
// window of unacknowledged messages is full.
func (c *channel) send(pt PayloadType, payload []byte) error {
	c.omu.Lock()
	for len(c.unacked) >= window && !c.oclosed {
		c.ocond.Wait()
	}
	if c.oclosed {
		c.omu.Unlock()
		return io.ErrClosedPipe
	}
	msg := NewMessage(OutputStreamData, c.nextSeq, pt, payload)
	frame, err := msg.Marshal()
	if err != nil {
		c.omu.Unlock()
		return err
	}
	c.nextSeq++
	c.unacked = append(c.unacked, &outMsg{seq: msg.SequenceNumber, frame: frame, sentAt: time.Now()})
	c.omu.Unlock()
	return c.write(websocket.BinaryMessage, frame)
}

// closeOutput wakes every sender for good.
func (c *channel) closeOutput() {
	c.omu.Lock()
	c.oclosed = true
	c.ocond.Broadcast()
	c.omu.Unlock()
	c.stdin.close()
}

// pump sends the process's output until it ends.
func (c *channel) pump(proc driver.ExecProcess) error {
	buf := make([]byte, maxPayload)
	for {
		n, err := proc.Read(buf)
		if n > 0 {
			if serr := c.send(PayloadOutput, append([]byte(nil), buf[:n]...)); serr != nil {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// feed writes the client's keystrokes to the process.
func (c *channel) feed(proc driver.ExecProcess) {
	for {
		b, ok := c.stdin.pop()
		if !ok {
			return
		}
		if _, err := proc.Write(b); err != nil {
			c.log.Debug("exec input not written", "err", err)
			return
		}
	}
}

// resize applies the client's terminal sizes.
func (c *channel) resize(proc driver.ExecProcess) {
	for {
		select {
		case s := <-c.sizes:
			ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
			if err := proc.Resize(ctx, driver.TerminalSize{Cols: uint(s.Cols), Rows: uint(s.Rows)}); err != nil {
				c.log.Debug("exec resize failed", "err", err)
			}
			cancel()
		case <-c.readDone:
			return
		}
	}
}

// resend sends again what has waited too long for its acknowledgement.
func (c *channel) resend(done <-chan struct{}) {
	t := time.NewTicker(resendTick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-c.readDone:
			return
		case now := <-t.C:
			var frames [][]byte
			c.omu.Lock()
			for _, m := range c.unacked {
				if now.Sub(m.sentAt) >= resendAfter {
					m.sentAt = now
					frames = append(frames, m.frame)
				}
			}
			c.omu.Unlock()
			for _, f := range frames {
				if err := c.write(websocket.BinaryMessage, f); err != nil {
					return
				}
			}
		}
	}
}

// drain waits until the client has acknowledged all output, or cannot.
func (c *channel) drain() {
	deadline := time.Now().Add(drainTimeout)
	for {
		c.omu.Lock()
		n := len(c.unacked)
		c.omu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			return
		}
		select {
		case <-c.readDone:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// read handles what the client sends until the connection ends.
func (c *channel) read() {
	defer close(c.readDone)
	for {
		typ, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.receive(typ, b)
	}
}

// receive handles one WebSocket message from the client. Anything
// malformed is ignored: the plugin resends what it needs acknowledged.
func (c *channel) receive(typ int, b []byte) {
	if typ != websocket.BinaryMessage {
		return // only the opening message is text
	}
	msg, err := Parse(b)
	if err != nil {
		c.log.Debug("exec: malformed message ignored", "err", err)
		return
	}
	switch msg.Type {
	case Acknowledge:
		var ack AcknowledgeContent
		if json.Unmarshal(msg.Payload, &ack) == nil {
			c.acknowledged(ack.SequenceNumber)
		}
	case InputStreamData:
		c.input(msg)
	}
}

func (c *channel) acknowledged(seq int64) {
	c.omu.Lock()
	defer c.omu.Unlock()
	for i, m := range c.unacked {
		if m.seq == seq {
			c.unacked = append(c.unacked[:i], c.unacked[i+1:]...)
			c.ocond.Broadcast()
			return
		}
	}
}

// input takes one input stream message in sequence order: a duplicate is
// acknowledged again, one ahead of a gap is kept (and acknowledged), and
// one the process cannot take yet is left for the client to resend.
func (c *channel) input(msg Message) {
	switch {
	case msg.SequenceNumber < c.expected:
		c.ack(msg)
	case msg.SequenceNumber > c.expected:
		if _, dup := c.ahead[msg.SequenceNumber]; dup {
			c.ack(msg)
			return
		}
		if len(c.ahead) < maxOutOfOrder && c.aheadBytes+len(msg.Payload) <= maxInputBacklog {
			// Keep the payload, not the whole frame it came in.
			msg.Payload = append([]byte(nil), msg.Payload...)
			c.ahead[msg.SequenceNumber] = msg
			c.aheadBytes += len(msg.Payload)
			c.ack(msg)
		}
	default:
		if !c.handle(msg) {
			return
		}
		c.ack(msg)
		c.expected++
		for {
			next, ok := c.ahead[c.expected]
			if !ok {
				return
			}
			delete(c.ahead, c.expected)
			c.aheadBytes -= len(next.Payload)
			// Already acknowledged: taken even past the backlog bound,
			// which the bound on messages kept ahead limits.
			c.handleAlways(next)
			c.expected++
		}
	}
}

func (c *channel) ack(msg Message) {
	payload, err := json.Marshal(AcknowledgeContent{
		MessageType: msg.Type, MessageID: msg.ID.String(), SequenceNumber: msg.SequenceNumber, IsSequentialMessage: true,
	})
	if err != nil {
		return
	}
	ack := NewMessage(Acknowledge, 0, 0, payload)
	ack.Flags = acknowledgeMessageFlags
	frame, err := ack.Marshal()
	if err != nil {
		return
	}
	_ = c.write(websocket.BinaryMessage, frame)
}

// handle acts on an input message in sequence; false means it cannot be
// taken now.
func (c *channel) handle(msg Message) bool {
	if msg.PayloadType == PayloadOutput && !c.stdin.fits(len(msg.Payload)) {
		return false
	}
	c.handleAlways(msg)
	return true
}

func (c *channel) handleAlways(msg Message) {
	switch msg.PayloadType {
	case PayloadOutput:
		c.lastInput.Store(time.Now().UnixNano())
		c.stdin.push(msg.Payload)
	case PayloadSize:
		var s SizeData
		if json.Unmarshal(msg.Payload, &s) != nil || s.Cols == 0 || s.Rows == 0 {
			return
		}
		// Only the latest size matters.
		select {
		case <-c.sizes:
		default:
		}
		c.sizes <- s
	case PayloadHandshakeResponse:
		var r HandshakeResponse
		if json.Unmarshal(msg.Payload, &r) != nil {
			r.Errors = []string{"the handshake response is not valid JSON"}
		}
		select {
		case c.handshake <- r:
		default:
		}
	case PayloadFlag:
		if len(msg.Payload) == 4 && binary.BigEndian.Uint32(msg.Payload) == flagTerminateSession {
			c.termOnce.Do(func() { close(c.terminate) })
		}
	}
}

// byteQueue is the client's input on its way to the process, bounded in
// bytes.
type byteQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	size   int
	max    int
	closed bool
}

func newByteQueue(max int) *byteQueue {
	q := &byteQueue{max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *byteQueue) fits(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size+n <= q.max || q.size == 0
}

func (q *byteQueue) push(b []byte) {
	if len(b) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.chunks = append(q.chunks, append([]byte(nil), b...))
	q.size += len(b)
	q.cond.Signal()
}

func (q *byteQueue) pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.chunks) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.chunks) == 0 {
		return nil, false
	}
	b := q.chunks[0]
	q.chunks = q.chunks[1:]
	q.size -= len(b)
	return b, true
}

func (q *byteQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
