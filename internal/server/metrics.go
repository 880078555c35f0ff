package server

import (
	"time"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/metrics"
)

// observeRequests counts every answer of the protocol server. The Logs
// API, served through the same protocol server, is to report under
// metrics.APILogs (by the API the request names) once it is wired.
func observeRequests(proto *awsjson.Server, m *metrics.Metrics) {
	proto.ObserveFunc = func(req *awsjson.Request, code string, took time.Duration) {
		m.ObserveRequest(metrics.APIECS, req.Operation, code, took)
	}
}

// Metrics is the server's instrumentation: its registry (served at GET
// /metrics) and the hooks other parts report to, such as the Logs API's
// LogBytesStored.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }
