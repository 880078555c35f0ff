package server

import (
	"time"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/metrics"
)

// observeRequests counts every answer of the protocol server under the
// API the request named: TagResource, say, exists in both ECS and
// CloudWatch Logs.
func observeRequests(proto *awsjson.Server, m *metrics.Metrics) {
	proto.ObserveFunc = func(req *awsjson.Request, code string, took time.Duration) {
		api := metrics.APIECS
		if req.API == awsjson.Logs {
			api = metrics.APILogs
		}
		m.ObserveRequest(api, req.Operation, code, took)
	}
}

// Metrics is the server's instrumentation: its registry (served at GET
// /metrics) and the hooks other parts report to, such as the Logs API's
// LogBytesStored.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }
