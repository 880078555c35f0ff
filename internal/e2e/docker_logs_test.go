package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestDockerAwslogs runs a real container (the static tiny binary on an
// empty image) that prints lines on stdout and stderr through the awslogs
// driver: every line reaches CloudWatch Logs in order, in the stream ECS
// names, with the Engine's timestamps.
func TestDockerAwslogs(t *testing.T) {
	e, _ := dockerServer(t, "")
	c, lc := e.defaultClient(), e.logsClient()
	cd := tinyContainer("app", true, "print", "40", "5")
	cd.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/docker", "awslogs-region": defaultRegion, "awslogs-stream-prefix": "tiny", "awslogs-create-group": "true"}}
	registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("printer"), ContainerDefinitions: []types.ContainerDefinition{cd}})
	before := time.Now()
	task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("printer")})
	arn := aws.ToString(task.TaskArn)
	waitTask(t, c, arn, "STOPPED", stopped)
	stream := "tiny/app/" + taskID(arn)
	var msgs []string
	waitFor(t, 30*time.Second, "the container's 40 lines", func() error {
		var err error
		msgs, err = streamMessages(t.Context(), lc, "/ecs/docker", stream)
		if err != nil {
			return err
		}
		if len(msgs) < 40 {
			return fmt.Errorf("%d lines", len(msgs))
		}
		return nil
	})
	// stdout and stderr are separate pipes: the Engine stamps each line
	// when it reads it, so lines of the two streams printed close together
	// may swap (as they do with the real awslogs driver). Within a stream
	// the order is kept.
	var outLines, errLines []string
	for _, m := range msgs {
		var i int
		if _, err := fmt.Sscanf(m, "line %d", &i); err != nil {
			t.Fatalf("unexpected line %q", m)
		}
		if i%5 == 4 {
			errLines = append(errLines, m)
		} else {
			outLines = append(outLines, m)
		}
	}
	var wantOut, wantErr []string
	for i := range 40 {
		if i%5 == 4 {
			wantErr = append(wantErr, fmt.Sprintf("line %d", i))
		} else {
			wantOut = append(wantOut, fmt.Sprintf("line %d", i))
		}
	}
	if diff := cmp.Diff(wantOut, outLines); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErr, errLines); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}
	out, err := lc.GetLogEvents(t.Context(), getEvents("/ecs/docker", stream))
	if err != nil {
		t.Fatal(err)
	}
	first := time.UnixMilli(aws.ToInt64(out.Events[0].Timestamp))
	last := time.UnixMilli(aws.ToInt64(out.Events[len(out.Events)-1].Timestamp))
	if first.Before(before.Add(-time.Second)) || last.Sub(first) < 100*time.Millisecond {
		t.Fatalf("timestamps %v .. %v: not the Engine's times of lines printed 5ms apart", first, last)
	}
}
