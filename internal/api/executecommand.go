package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

func registerExecuteCommand(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "ExecuteCommand", func(ctx context.Context, req *awsjson.Request, in *ecs.ExecuteCommandInput) (*ecs.ExecuteCommandOutput, error) {
		r, err := c.ExecuteCommand(ctx, caller(req), control.ExecuteCommandRequest{
			Cluster:     deref(in.Cluster),
			Task:        deref(in.Task),
			Container:   deref(in.Container),
			Command:     deref(in.Command),
			Interactive: in.Interactive,
			Host:        req.Host,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ExecuteCommandOutput{
			ClusterArn:    &r.ClusterARN,
			ContainerArn:  &r.ContainerARN,
			ContainerName: &r.ContainerName,
			Interactive:   r.Interactive,
			TaskArn:       &r.TaskARN,
			Session: &types.Session{
				SessionId:  &r.Session.ID,
				StreamUrl:  &r.Session.StreamURL,
				TokenValue: &r.Session.Token,
			},
		}, nil
	})
}
