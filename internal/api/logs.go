package api

import (
	"context"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

// RegisterLogs installs the CloudWatch Logs operations ecsd serves (target
// prefix Logs_20140328) on srv; the rest of the Logs model answers
// InvalidOperationException. The list is docs/compat.md's.
func RegisterLogs(srv *awsjson.Server, l *control.Logs) {
	logsOp(srv, "CreateLogGroup", l.CreateLogGroup)
	logsOp(srv, "CreateLogStream", l.CreateLogStream)
	logsOp(srv, "DeleteLogGroup", l.DeleteLogGroup)
	logsOp(srv, "DeleteLogStream", l.DeleteLogStream)
	logsOp(srv, "PutRetentionPolicy", l.PutRetentionPolicy)
	logsOp(srv, "DeleteRetentionPolicy", l.DeleteRetentionPolicy)
	logsOp(srv, "DescribeLogGroups", l.DescribeLogGroups)
	logsOp(srv, "DescribeLogStreams", l.DescribeLogStreams)
	logsOp(srv, "PutLogEvents", l.PutLogEvents)
	logsOp(srv, "GetLogEvents", l.GetLogEvents)
	logsOp(srv, "FilterLogEvents", l.FilterLogEvents)
}

// LogsOperations are the CloudWatch Logs operations RegisterLogs serves.
var LogsOperations = []string{
	"CreateLogGroup", "CreateLogStream", "DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy",
	"DeleteRetentionPolicy", "DescribeLogGroups", "DescribeLogStreams", "PutLogEvents", "GetLogEvents", "FilterLogEvents",
}

func logsOp[In, Out any](srv *awsjson.Server, op string, f func(context.Context, control.Caller, *In) (*Out, error)) {
	awsjson.HandleAPIFunc(srv, awsjson.Logs, op, func(ctx context.Context, req *awsjson.Request, in *In) (*Out, error) {
		return f(ctx, caller(req), in)
	})
}
