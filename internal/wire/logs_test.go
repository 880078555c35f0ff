package wire

import (
	"testing"
)

// TestLogsOperationsPlan proves the codec can express the Logs operations
// ecsd serves: a plan for each Input and Output builds from the model.
func TestLogsOperationsPlan(t *testing.T) {
	ops := LogsOperations()
	for _, name := range []string{"CreateLogGroup", "CreateLogStream", "DescribeLogGroups", "DescribeLogStreams",
		"GetLogEvents", "FilterLogEvents", "DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy",
		"DeleteRetentionPolicy", "PutLogEvents"} {
		op, ok := ops[name]
		if !ok {
			t.Fatalf("no operation %s in the CloudWatch Logs model", name)
		}
		planFor(op.Input)
		planFor(op.Output)
	}
	if len(ops) < 50 {
		t.Fatalf("found %d operations in the CloudWatch Logs client; the method-set discovery is broken", len(ops))
	}
}
