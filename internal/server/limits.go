package server

import (
	"net"
	"sync"
	"time"
)

// Limits bound what clients can make ecsd hold: connections, time and
// (with Config.MaxBodyBytes) memory. Zero fields take DefaultLimits'
// values. README's "Limits" section documents each.
type Limits struct {
	// MaxConnections caps open client connections. Beyond it ecsd stops
	// accepting: new connections wait in the kernel's listen backlog
	// until one closes, rather than being refused.
	MaxConnections int
	// RequestTimeout bounds how long one request may wait for the store
	// (awsjson.Server.Timeout); past it the request answers
	// ServerException.
	RequestTimeout time.Duration
	// ReadHeaderTimeout closes a connection whose request headers have
	// not arrived in time (slowloris clients); ReadTimeout one whose
	// whole request (headers and body) has not.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout bounds writing a response; IdleTimeout how long a
	// keep-alive connection may wait for its next request.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
}

// DefaultLimits are generous for any test suite on one machine and still
// bound what a misbehaving client can hold.
var DefaultLimits = Limits{
	MaxConnections:    1024,
	RequestTimeout:    30 * time.Second,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       60 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       120 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConnections <= 0 {
		l.MaxConnections = d.MaxConnections
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&l.RequestTimeout, &d.RequestTimeout},
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout},
		{&l.ReadTimeout, &d.ReadTimeout},
		{&l.WriteTimeout, &d.WriteTimeout},
		{&l.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// limitListener accepts at most cap(sem) connections at a time (as
// golang.org/x/net/netutil.LimitListener, without the dependency): a slot
// is taken before Accept and given back when the connection closes.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
