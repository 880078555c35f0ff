package api

import (
	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

func registerTasks(srv *awsjson.Server, c *control.Control) {}
