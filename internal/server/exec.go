package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/execsession"
)

// serveExec gives ExecuteCommand its sessions when the runtime runs
// processes (driver.Execer: Docker, Kubernetes) and serves their data
// channels on mux. On the simulated runtime ExecuteCommand answers that
// it cannot. It returns the sessions' manager, nil without one.
func serveExec(d driver.Driver, ctl *control.Control, mux *http.ServeMux, logger *slog.Logger) *execsession.Manager {
	ex, ok := d.(driver.Execer)
	if !ok {
		return nil
	}
	m := execsession.New(execsession.Config{Driver: d, Execer: ex, Logger: logger})
	ctl.OpenExecFunc = func(ctx context.Context, t control.ExecTarget) (control.ExecSession, error) {
		s, err := m.Open(ctx, execsession.Target{
			Group: t.Group, Container: t.Container, Command: t.Command, Host: t.Host,
			Describe: t.TaskARN,
		})
		return control.ExecSession{ID: s.ID, StreamURL: s.StreamURL, Token: s.Token}, err
	}
	mux.Handle("GET "+execsession.Path+"{id}", m)
	return m
}

// closeExec ends the exec sessions still running: hijacked connections
// outlive http.Server.Shutdown.
func (s *Server) closeExec(ctx context.Context) error {
	if s.exec == nil {
		return nil
	}
	return s.exec.Close(ctx)
}
