// Package api maps each ECS operation's wire Input and Output onto the
// control use-cases: one file per resource. It may import control, awsjson,
// wire and ecs; it must never touch the store directly.
package api

import (
	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

// Register installs every implemented operation on srv.
func Register(srv *awsjson.Server, c *control.Control) {
	registerTaskDefinitions(srv, c)
	registerTags(srv, c)
	registerClusters(srv, c)
	registerAccount(srv, c)
	registerTasks(srv, c)
	registerServices(srv, c)
	registerContainerInstances(srv, c)
	registerTaskProtection(srv, c)

	registerExecuteCommand(srv, c)
}

func caller(req *awsjson.Request) control.Caller {
	return control.NewCaller(req.Account, req.Region, req.Caller)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
