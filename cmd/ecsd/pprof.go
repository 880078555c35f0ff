package main

import (
	"errors"
	"expvar"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"time"

	"github.com/ecsd/ecsd/internal/server"
)

// servePprof serves Go's profiler (/debug/pprof/) and expvar (/debug/vars,
// with the store writer's commits and writes) on addr, a listener of its
// own: the API's mux never serves them. It is how bench/run.sh reads how
// many writes shared each commit, and how a profile of a running ecsd is
// taken. It returns a function that closes the listener.
func servePprof(addr string, srv *server.Server, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	expvar.Publish("store", expvar.Func(func() any { return srv.StoreStats() }))
	hs := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof listener stopped", "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}
