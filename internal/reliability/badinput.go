package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BadInputConfig is one bad-input campaign. Either Binary (the campaign
// starts ecsd itself, and can read its memory and log) or URL (a server
// already running, e.g. in-process in a test) must be set.
type BadInputConfig struct {
	Binary  string
	WorkDir string // with Binary: data dir and log
	URL     string
	PID     int // with URL: the server's process, for VmRSS; 0 skips memory checks

	// Sample keeps each generated request with this probability (default
	// 1: all of them); MinRequests pads with mutated seeds up to a floor.
	Sample      float64
	MinRequests int
	Concurrency int // parallel senders (default 8)
	// Rounds sends the generated requests this many times (default 1),
	// reading the server's RSS after each: memory that grows round after
	// round is a leak, not a high-water mark.
	Rounds int
	// SlowClients dribble request headers one byte at a time; each must
	// be cut off by the server within HeaderTimeout plus a margin.
	SlowClients   int
	HeaderTimeout time.Duration // the server's ReadHeaderTimeout (default 10s)
	// ConnStorm is how many connections open at once, each sending one
	// valid request that must succeed.
	ConnStorm int
	// MaxRSS fails the campaign if the server's resident memory ever
	// exceeds it (default 512 MiB).
	MaxRSS   int64
	MaxBody  int // the server's body limit (default 1 MiB)
	Seed     uint64
	Progress io.Writer
}

// BadInputReport is what the campaign sent and what came back.
type BadInputReport struct {
	Requests   int            // HTTP requests answered or cut, storm and slow clients excluded
	ByCategory map[string]int // requests per category
	ByStatus   map[int]int
	ByCode     map[string]int // __type of 4xx answers
	// HTTPRejects are answers net/http gives before ecsd's handler runs
	// (431 header too large, 400 for a malformed request line): plain
	// text, as AWS's own front end answers such requests.
	HTTPRejects int
	// CutAfterLimit counts oversized bodies or headers whose connection
	// the server closed (after answering 400 or 431) before the client
	// finished sending.
	CutAfterLimit int
	ServerErrors  int // 5xx: must be 0
	Panics        int // panic lines in the log: must be 0

	SlowClients     int
	SlowClosed      int           // cut off by the server in time
	SlowLongestHeld time.Duration // longest a slow client kept its connection

	StormConns, StormOK int
	StormTook           time.Duration

	RSSBefore, RSSPeak, RSSAfter int64
	RSSAfterRound                []int64
	Took                         time.Duration
	Failures                     []string
}

func (r *BadInputReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests: %d in %s\n", r.Requests, r.Took.Round(time.Millisecond))
	cats := keys(r.ByCategory)
	sort.Strings(cats)
	for _, c := range cats {
		fmt.Fprintf(&b, "  %-22s %6d\n", c, r.ByCategory[c])
	}
	sts := keys(r.ByStatus)
	sort.Ints(sts)
	fmt.Fprintf(&b, "answers by status:")
	for _, s := range sts {
		fmt.Fprintf(&b, " %d=%d", s, r.ByStatus[s])
	}
	codes := keys(r.ByCode)
	sort.Strings(codes)
	fmt.Fprintf(&b, "\nerror codes:")
	for _, c := range codes {
		fmt.Fprintf(&b, " %s=%d", c, r.ByCode[c])
	}
	fmt.Fprintf(&b, "\nrejected by net/http before the handler (431/400 plain text): %d\n", r.HTTPRejects)
	fmt.Fprintf(&b, "oversized bodies or headers cut off by the server after its 400/431: %d\n", r.CutAfterLimit)
	fmt.Fprintf(&b, "5xx answers: %d\npanics in the log: %d\n", r.ServerErrors, r.Panics)
	fmt.Fprintf(&b, "slow clients (headers dribbled): %d, cut off by the server: %d, longest held: %s\n",
		r.SlowClients, r.SlowClosed, r.SlowLongestHeld.Round(time.Millisecond))
	fmt.Fprintf(&b, "connection storm: %d connections at once, %d answered 200, in %s\n", r.StormConns, r.StormOK, r.StormTook.Round(time.Millisecond))
	if r.RSSBefore > 0 {
		fmt.Fprintf(&b, "server RSS: before %s, peak %s, after %s", mib(r.RSSBefore), mib(r.RSSPeak), mib(r.RSSAfter))
		if len(r.RSSAfterRound) > 1 {
			fmt.Fprintf(&b, "; after each round:")
			for _, n := range r.RSSAfterRound {
				fmt.Fprintf(&b, " %s", mib(n))
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "failures: %d\n", len(r.Failures))
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// badReq is one hostile request.
type badReq struct {
	cat    string
	op     string // operation for X-Amz-Target
	target *string
	method string
	path   string
	ctype  *string
	body   []byte
	// oversized: the server may cut the connection once it has answered.
	oversized bool
	// rawHeaders are extra header lines (for ones net/http would refuse
	// to send).
	rawHeaders string
}

type badInput struct {
	cfg    BadInputConfig
	url    string
	host   string
	rep    *BadInputReport
	mu     sync.Mutex
	rng    *rand.Rand
	rssMax atomic.Int64
}

// RunBadInput runs the campaign and returns its report, and an error if
// any check failed.
func RunBadInput(ctx context.Context, cfg BadInputConfig) (*BadInputReport, error) {
	if cfg.Sample <= 0 || cfg.Sample > 1 {
		cfg.Sample = 1
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 1
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.MaxRSS <= 0 {
		cfg.MaxRSS = 512 << 20
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	b := &badInput{cfg: cfg, rep: &BadInputReport{ByCategory: map[string]int{}, ByStatus: map[int]int{}, ByCode: map[string]int{}},
		rng: rand.New(rand.NewPCG(cfg.Seed, 42))}
	start := time.Now()
	err := b.run(ctx)
	b.rep.Took = time.Since(start)
	if err == nil && len(b.rep.Failures) > 0 {
		err = fmt.Errorf("%d checks failed; first: %s", len(b.rep.Failures), b.rep.Failures[0])
	}
	return b.rep, err
}

func (b *badInput) failf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.rep.Failures) < 200 {
		b.rep.Failures = append(b.rep.Failures, fmt.Sprintf(format, args...))
	}
}

func (b *badInput) run(ctx context.Context) error {
	var proc *Process
	pid := b.cfg.PID
	b.url = b.cfg.URL
	if b.cfg.Binary != "" {
		data := filepath.Join(b.cfg.WorkDir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		var err error
		proc, err = StartProcess(ctx, b.cfg.Binary, filepath.Join(b.cfg.WorkDir, "ecsd.log"), "--data-dir", data, "--service-healthy-after", "0s")
		if err != nil {
			return err
		}
		defer func() {
			if !proc.Exited() {
				proc.Kill()
			}
		}()
		b.url, pid = proc.URL, proc.Pid()
	}
	u, err := url.Parse(b.url)
	if err != nil {
		return err
	}
	b.host = u.Host
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: b.cfg.Concurrency}}
	if err := Fixtures(ctx, hc, b.url); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	// Warm up so that the baseline is a server that has done its normal
	// work, not a fresh process.
	for range 20 {
		for op, seeds := range Seeds {
			for _, s := range seeds {
				if _, _, _, err := Post(ctx, hc, b.url, op, []byte(s)); err != nil {
					return fmt.Errorf("warm-up %s: %w", op, err)
				}
			}
		}
	}
	if pid > 0 {
		b.rep.RSSBefore, _ = RSS(pid)
		b.rssMax.Store(b.rep.RSSBefore)
	}
	stopSampler := make(chan struct{})
	var samplerDone sync.WaitGroup
	if pid > 0 {
		samplerDone.Add(1)
		go func() {
			defer samplerDone.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopSampler:
					return
				case <-t.C:
					if r, err := RSS(pid); err == nil && r > b.rssMax.Load() {
						b.rssMax.Store(r)
					}
				}
			}
		}()
	}

	// Slow clients hold their connections while everything else runs.
	var slow sync.WaitGroup
	for i := range b.cfg.SlowClients {
		slow.Add(1)
		go func() { defer slow.Done(); b.slowClient(ctx, i) }()
	}

	reqs := b.generate()
	fmt.Fprintf(b.cfg.Progress, "bad input: %d requests generated; sending with %d connections, %d slow clients\n",
		len(reqs), b.cfg.Concurrency, b.cfg.SlowClients)
	for round := 1; round <= b.cfg.Rounds; round++ {
		work := make(chan badReq)
		var senders sync.WaitGroup
		for range b.cfg.Concurrency {
			senders.Add(1)
			go func() {
				defer senders.Done()
				for r := range work {
					b.send(ctx, r)
				}
			}()
		}
		for _, r := range reqs {
			select {
			case work <- r:
			case <-ctx.Done():
			}
		}
		close(work)
		senders.Wait()
		if pid > 0 {
			rss, _ := RSS(pid)
			b.rep.RSSAfterRound = append(b.rep.RSSAfterRound, rss)
			fmt.Fprintf(b.cfg.Progress, "bad input: round %d/%d sent, server RSS %s\n", round, b.cfg.Rounds, mib(rss))
		}
	}
	fmt.Fprintf(b.cfg.Progress, "bad input: sent; connection storm of %d\n", b.cfg.ConnStorm)
	b.storm(ctx)
	slow.Wait()

	// Still serving, and answering properly.
	for op, seeds := range Seeds {
		status, h, body, err := Post(ctx, hc, b.url, op, []byte(seeds[0]))
		if err != nil {
			b.failf("after the campaign %s: %v", op, err)
			continue
		}
		if err := CheckAnswer(status, h, body); err != nil {
			b.failf("after the campaign %s: %v", op, err)
		}
	}
	if resp, err := hc.Get(b.url + "/health"); err != nil || resp.StatusCode != http.StatusOK {
		b.failf("after the campaign /health: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	if pid > 0 {
		close(stopSampler)
		samplerDone.Wait()
		hc.CloseIdleConnections()
		time.Sleep(time.Second) // let idle connections and request buffers go
		b.rep.RSSAfter, _ = RSS(pid)
		b.rep.RSSPeak = max(b.rssMax.Load(), b.rep.RSSAfter)
		if b.rep.RSSPeak > b.cfg.MaxRSS {
			b.failf("server RSS peaked at %s, over the %s bound", mib(b.rep.RSSPeak), mib(b.cfg.MaxRSS))
		}
	}
	if proc != nil {
		if err := proc.Terminate(30 * time.Second); err != nil {
			b.failf("graceful shutdown after the campaign: %v", err)
		}
		lines, err := PanicLines(proc.LogPath)
		if err != nil {
			return err
		}
		b.rep.Panics = len(lines)
		for _, l := range lines {
			b.failf("panic in the log: %s", l)
		}
	}
	return nil
}

// send sends one request over its own connection-reusing client and
// checks the answer.
func (b *badInput) send(ctx context.Context, r badReq) {
	status, hdr, body, cut, err := b.roundTrip(ctx, r)
	b.mu.Lock()
	b.rep.Requests++
	b.rep.ByCategory[r.cat]++
	b.mu.Unlock()
	if err != nil {
		if r.oversized && cut {
			b.mu.Lock()
			b.rep.CutAfterLimit++
			if status > 0 {
				b.rep.ByStatus[status]++
			}
			b.mu.Unlock()
			return
		}
		b.failf("%s %s: %v", r.cat, r.op, err)
		return
	}
	b.mu.Lock()
	b.rep.ByStatus[status]++
	b.mu.Unlock()
	if status >= 500 {
		b.mu.Lock()
		b.rep.ServerErrors++
		b.mu.Unlock()
	}
	if (status == http.StatusRequestHeaderFieldsTooLarge || status == http.StatusBadRequest) && hdr.Get("x-amzn-RequestId") == "" {
		// net/http answered before the handler ran.
		b.mu.Lock()
		b.rep.HTTPRejects++
		b.mu.Unlock()
		return
	}
	if err := CheckAnswer(status, hdr, body); err != nil {
		b.failf("%s %s (%d-byte body %.120q): %v", r.cat, r.op, len(r.body), r.body, err)
		return
	}
	if status != http.StatusOK {
		var e struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal(body, &e)
		b.mu.Lock()
		b.rep.ByCode[e.Type]++
		b.mu.Unlock()
	}
	if r.oversized && status == http.StatusOK {
		b.failf("%s %s: a %d-byte body over the %d-byte limit was accepted", r.cat, r.op, len(r.body), b.cfg.MaxBody)
	}
}

// roundTrip writes the request by hand on a fresh connection, so that
// nothing a Go client would refuse to send (bad header values, wrong
// lengths) is filtered out, and reads the answer. cut reports that the
// server closed the connection before the client had written everything.
func (b *badInput) roundTrip(ctx context.Context, r badReq) (status int, hdr http.Header, body []byte, cut bool, err error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", b.host)
	if err != nil {
		return 0, nil, nil, false, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(90 * time.Second))
	method, path := r.method, r.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", method, path, b.host, len(r.body))
	switch {
	case r.target != nil && *r.target != "":
		fmt.Fprintf(&h, "X-Amz-Target: %s\r\n", *r.target)
	case r.target == nil:
		fmt.Fprintf(&h, "X-Amz-Target: %s\r\n", Target(r.op))
	}
	switch {
	case r.ctype != nil && *r.ctype != "":
		fmt.Fprintf(&h, "Content-Type: %s\r\n", *r.ctype)
	case r.ctype == nil:
		h.WriteString("Content-Type: application/x-amz-json-1.1\r\n")
	}
	h.WriteString(r.rawHeaders)
	h.WriteString("\r\n")
	writeErr := make(chan error, 1)
	go func() {
		_, err := conn.Write(append(h.Bytes(), r.body...))
		writeErr <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		werr := <-writeErr
		return 0, nil, nil, werr != nil, fmt.Errorf("reading the answer: %v (writing: %v)", err, werr)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		// A server that answers before it has read everything (a 431
		// for huge headers) closes with unread data pending, and the
		// kernel resets the connection under the rest of the answer.
		werr := <-writeErr
		return resp.StatusCode, nil, nil, werr != nil || resp.StatusCode >= 400, fmt.Errorf("reading the answer's %d body: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, body, false, nil
}

// slowClient dribbles a request's headers one byte every 200ms and
// measures how long the server lets it hold the connection.
func (b *badInput) slowClient(ctx context.Context, i int) {
	conn, err := net.DialTimeout("tcp", b.host, 10*time.Second)
	if err != nil {
		b.failf("slow client %d: %v", i, err)
		return
	}
	defer conn.Close()
	b.mu.Lock()
	b.rep.SlowClients++
	b.mu.Unlock()
	start := time.Now()
	limit := b.cfg.HeaderTimeout + 5*time.Second
	head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: %sListClusters\r\nX-Slow-%d: ", b.host, TargetPrefix, i)
	if _, err := conn.Write([]byte(head)); err != nil {
		b.failf("slow client %d: %v", i, err)
		return
	}
	closed := make(chan struct{})
	go func() {
		// The server answers nothing (or a 408) and closes.
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			held := time.Since(start)
			b.mu.Lock()
			b.rep.SlowClosed++
			b.rep.SlowLongestHeld = max(b.rep.SlowLongestHeld, held)
			b.mu.Unlock()
			return
		case <-tick.C:
			if time.Since(start) > limit {
				b.failf("slow client %d still connected after %s (ReadHeaderTimeout %s)", i, time.Since(start).Round(time.Millisecond), b.cfg.HeaderTimeout)
				return
			}
			_, _ = conn.Write([]byte("a"))
		case <-ctx.Done():
			return
		}
	}
}

// storm opens ConnStorm connections at once, each sending one
// ListClusters; every one must be answered 200.
func (b *badInput) storm(ctx context.Context) {
	n := b.cfg.ConnStorm
	if n <= 0 {
		return
	}
	start := time.Now()
	var ok atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			status, _, body, _, err := b.roundTrip(ctx, badReq{cat: "storm", op: "ListClusters", body: []byte(`{}`)})
			if err != nil || status != http.StatusOK {
				b.failf("connection storm: %v %d %.100s", err, status, body)
				return
			}
			ok.Add(1)
		}()
	}
	close(gate)
	wg.Wait()
	b.rep.StormConns, b.rep.StormOK, b.rep.StormTook = n, int(ok.Load()), time.Since(start)
}

// generate builds the campaign's requests from the seeds.
func (b *badInput) generate() []badReq {
	var out []badReq
	keep := func(r badReq) {
		if b.cfg.Sample >= 1 || b.rng.Float64() < b.cfg.Sample {
			out = append(out, r)
		}
	}
	ops := keys(Seeds)
	sort.Strings(ops)
	str := func(s string) *string { return &s }
	for _, op := range ops {
		for _, seed := range Seeds[op] {
			var tree any
			dec := json.NewDecoder(strings.NewReader(seed))
			dec.UseNumber()
			if err := dec.Decode(&tree); err != nil {
				panic(fmt.Sprintf("seed %s %s: %v", op, seed, err))
			}
			paths := jsonPaths(tree, nil)
			// Wrong types at every member and element.
			for _, p := range paths {
				for _, v := range wrongValues {
					keep(badReq{cat: "wrong-type", op: op, body: mustMarshal(replaceAt(tree, p, v))})
				}
			}
			// Numbers out of every range, where numbers go.
			for _, p := range paths {
				if _, isNum := getAt(tree, p).(json.Number); isNum {
					marked := mustMarshal(replaceAt(tree, p, "ZZMARKZZ"))
					for _, v := range hostileNumbers {
						keep(badReq{cat: "hostile-number", op: op, body: bytes.Replace(marked, []byte(`"ZZMARKZZ"`), []byte(v), 1)})
					}
				}
			}
			// Unknown members in every object.
			for _, p := range append([][]any{nil}, paths...) {
				if m, isObj := getAt(tree, p).(map[string]any); isObj {
					for _, v := range []any{"x", json.RawMessage(`{"nested":[1,{"a":null}]}`), json.RawMessage(`null`)} {
						m2 := cloneMap(m)
						m2["zzUnknownMember"] = v
						keep(badReq{cat: "unknown-member", op: op, body: mustMarshal(replaceAt(tree, p, m2))})
					}
				}
			}
			// Invalid UTF-8 and hostile text in every string.
			strPaths := 0
			for _, p := range paths {
				if _, isStr := getAt(tree, p).(string); !isStr {
					continue
				}
				strPaths++
				marked := mustMarshal(replaceAt(tree, p, "ZZMARKZZ"))
				for _, bad := range badText {
					keep(badReq{cat: "bad-text", op: op, body: bytes.Replace(marked, []byte("ZZMARKZZ"), []byte(bad), 1)})
				}
				// Huge strings at the body limit's edge, on the first few
				// string members.
				if strPaths <= 2 {
					rest := len(marked) - len("ZZMARKZZ")
					for _, n := range []int{64 << 10, b.cfg.MaxBody - rest, b.cfg.MaxBody - rest + 1} {
						body := bytes.Replace(marked, []byte("ZZMARKZZ"), bytes.Repeat([]byte("a"), n), 1)
						keep(badReq{cat: "huge-string", op: op, body: body, oversized: len(body) > b.cfg.MaxBody})
					}
				}
			}
			// Long arrays in the first array member.
			for _, p := range paths {
				if arr, isArr := getAt(tree, p).([]any); isArr && len(arr) > 0 {
					elem := mustMarshal(arr[0])
					n := min(5000, (b.cfg.MaxBody-len(seed))/(len(elem)+1))
					long := make([]any, n)
					for i := range long {
						long[i] = json.RawMessage(elem)
					}
					keep(badReq{cat: "long-array", op: op, body: mustMarshal(replaceAt(tree, p, long))})
					break
				}
			}
			// Truncated JSON at 16 cut points.
			for i := 1; i <= 16; i++ {
				cut := len(seed) * i / 17
				keep(badReq{cat: "truncated", op: op, body: []byte(seed[:cut])})
			}
			// Duplicate members: the first member again with another type.
			keep(badReq{cat: "duplicate-member", op: op, body: []byte(`{"` + firstKey(seed) + `":12345,` + seed[1:])})
			keep(badReq{cat: "duplicate-member", op: op, body: []byte(seed[:len(seed)-1] + `,"` + firstKey(seed) + `":{"a":[]}}`)})
			// Content types.
			for _, ct := range []string{"", "text/plain", "application/json", "application/x-amz-json-1.0",
				"multipart/form-data; boundary=x", "application/x-amz-json-1.1; charset=utf-8", "application/cbor"} {
				keep(badReq{cat: "content-type", op: op, ctype: str(ct), body: []byte(seed)})
			}
		}
		// Deep nesting, at the top level and in a member, around the
		// decoder's 10,000-level limit and far beyond it.
		for _, depth := range []int{100, 9_999, 10_000, 10_001, 100_000} {
			for _, open := range []string{"[", `{"a":`} {
				closer := "]"
				if open != "[" {
					closer = "}"
				}
				nest := strings.Repeat(open, depth) + "1" + strings.Repeat(closer, depth)
				keep(badReq{cat: "deep-nesting", op: op, body: []byte(nest)})
				keep(badReq{cat: "deep-nesting", op: op, body: []byte(`{"` + firstKey(Seeds[op][0]) + `":` + nest + `}`)})
				keep(badReq{cat: "deep-nesting", op: op, body: []byte(strings.Repeat(open, depth))}) // unclosed
			}
		}
		// Bodies that are not JSON objects.
		for _, body := range []string{``, ` `, `[]`, `"x"`, `1`, `null`, `true`, `{`, `}`, `{}{}`, `{} x`, "\xef\xbb\xbf{}", `{"a"}`,
			`{"a":}`, `{,}`, `{"a":1,}`, `[{}]`, "\x00", `{"\u0000":1}`, `{'a':1}`, `NaN`, `{"a":Infinity}`} {
			keep(badReq{cat: "not-an-object", op: op, body: []byte(body)})
		}
		// Oversized bodies, padded with a valid-looking member.
		seed := Seeds[op][0]
		for _, n := range []int{b.cfg.MaxBody + 1, 4 * b.cfg.MaxBody} {
			pad := `,"zzPad":"` + strings.Repeat("p", n) + `"}`
			keep(badReq{cat: "oversized-body", op: op, body: []byte(seed[:len(seed)-1] + pad), oversized: true})
		}
	}
	// Targets, methods and paths.
	for _, t := range []string{"", TargetPrefix, "AmazonEC2ContainerServiceV20141114.ListClusters", TargetPrefix + "listclusters",
		TargetPrefix + "ListClusters ", " " + TargetPrefix + "ListClusters", TargetPrefix + strings.Repeat("A", 8<<10),
		TargetPrefix + "ListClusters\xff", "ListClusters", TargetPrefix + "../ListClusters", TargetPrefix + "Nope",
		LogsTargetPrefix, LogsTargetPrefix + "Nope", LogsTargetPrefix + "describeloggroups", "Logs_20140329.DescribeLogGroups",
		LogsTargetPrefix + "StartLiveTail", LogsTargetPrefix + "StartQuery"} {
		for range 3 {
			keep(badReq{cat: "target", op: "?", target: str(t), body: []byte(`{}`)})
		}
	}
	for _, op := range unimplementedProbe {
		keep(badReq{cat: "target", op: op, body: []byte(`{}`)})
	}
	for _, mp := range [][2]string{{"GET", "/"}, {"PUT", "/"}, {"DELETE", "/"}, {"PATCH", "/"}, {"OPTIONS", "/"},
		{"POST", "/foo"}, {"POST", "//"}, {"POST", "/?Action=ListClusters"}, {"POST", "/health"}, {"GET", "/moto-api/reset"}} {
		for range 3 {
			keep(badReq{cat: "method-path", op: "ListClusters", method: mp[0], path: mp[1], body: []byte(`{}`)})
		}
	}
	// Headers net/http or ecsd must refuse: huge, many, bad auth.
	// Over MaxHeaderBytes: net/http answers 431 and closes, possibly
	// before the client has written everything.
	keep(badReq{cat: "headers", op: "ListClusters", body: []byte(`{}`), oversized: true, rawHeaders: "X-Big: " + strings.Repeat("h", 100<<10) + "\r\n"})
	keep(badReq{cat: "headers", op: "ListClusters", body: []byte(`{}`), oversized: true, rawHeaders: strings.Repeat("X-Many: 1\r\n", 10000)})
	for _, auth := range []string{"AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g",
		"AWS4-HMAC-SHA256 Credential=123456789012/20240101/" + strings.Repeat("r", 300) + "/ecs/aws4_request, SignedHeaders=host, Signature=0",
		"AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=zz",
		"Basic dXNlcjpwYXNz", "Bearer x", strings.Repeat("Credential=", 1000)} {
		keep(badReq{cat: "headers", op: "ListClusters", body: []byte(`{}`), rawHeaders: "Authorization: " + auth + "\r\n"})
	}
	// Pad with byte-level mutations of the seeds up to MinRequests.
	for len(out) < b.cfg.MinRequests {
		op := ops[b.rng.IntN(len(ops))]
		seed := []byte(Seeds[op][b.rng.IntN(len(Seeds[op]))])
		for range 1 + b.rng.IntN(4) {
			i := b.rng.IntN(len(seed))
			switch b.rng.IntN(3) {
			case 0:
				seed[i] = byte(b.rng.IntN(256))
			case 1:
				seed = append(seed[:i], seed[i+1:]...)
			default:
				seed = append(seed[:i], append([]byte{"{}[]\",:\\0-e\xff"[b.rng.IntN(13)]}, seed[i:]...)...)
			}
			if len(seed) == 0 {
				seed = []byte("{")
			}
		}
		out = append(out, badReq{cat: "mutated", op: op, body: seed})
	}
	b.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Operations of the ECS model ecsd may not implement: each must answer a
// 4xx whether or not it does.
var unimplementedProbe = []string{"CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider",
	"ExecuteCommand"}

var wrongValues = []any{
	json.Number("0"), json.Number("-1"), json.Number("2147483648"), json.Number("1.5"), "x", "", true, nil,
	[]any{}, map[string]any{}, []any{json.Number("1"), "a", nil}, map[string]any{"a": map[string]any{"b": []any{}}},
}

var hostileNumbers = []string{"1e400", "-1e400", "9223372036854775808", "-9223372036854775809", "1e-400", "-0", "0.0000001", "1E2", "00", "1.", "+1"}

var badText = []string{
	"\xff", "\xc3\x28", "\xe2\x82", "\xf0\x28\x8c\xbc", "\xc0\xaf", // invalid and overlong UTF-8
	`\ud800`, `\udc00x`, `\u0000`, `\u`, `\x41`, "a\u2028b", "\x01\x1f", strings.Repeat("é", 300),
	"arn:aws:ecs:us-east-1:000000000000:cluster/../../x", "%00%ff", "${jndi:ldap://x}", "'; DROP TABLE tasks; --",
}

// jsonPaths lists the paths (map keys and array indexes) of every value
// under v, parents before children.
func jsonPaths(v any, prefix []any) [][]any {
	var out [][]any
	switch t := v.(type) {
	case map[string]any:
		ks := keys(t)
		sort.Strings(ks)
		for _, k := range ks {
			p := append(append([]any{}, prefix...), k)
			out = append(out, p)
			out = append(out, jsonPaths(t[k], p)...)
		}
	case []any:
		for i, e := range t {
			p := append(append([]any{}, prefix...), i)
			out = append(out, p)
			out = append(out, jsonPaths(e, p)...)
		}
	}
	return out
}

func getAt(v any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// replaceAt returns a copy of v with the value at path replaced by nv.
func replaceAt(v any, path []any, nv any) any {
	if len(path) == 0 {
		return nv
	}
	switch k := path[0].(type) {
	case string:
		m := cloneMap(v.(map[string]any))
		m[k] = replaceAt(m[k], path[1:], nv)
		return m
	case int:
		a := append([]any{}, v.([]any)...)
		a[k] = replaceAt(a[k], path[1:], nv)
		return a
	}
	return v
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustMarshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func firstKey(seed string) string {
	if k, _, ok := strings.Cut(strings.TrimPrefix(seed, `{"`), `"`); ok && strings.HasPrefix(seed, `{"`) {
		return k
	}
	return "a"
}
