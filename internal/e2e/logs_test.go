package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/api"
	"github.com/ecsd/ecsd/internal/sdkhttp"
	"github.com/ecsd/ecsd/internal/server"
)

// logsClient is the official CloudWatch Logs client pointed at ecsd.
func (e *ecsd) logsClient() *cwl.Client {
	return cwl.New(cwl.Options{
		Region:           defaultRegion,
		BaseEndpoint:     aws.String(e.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(defaultKey, "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(),
	})
}

// TestLogsRoundTrip calls every CloudWatch Logs operation ecsd serves
// through the official client and checks what comes back: the shapes
// decode, and the answers are CloudWatch Logs' own.
func TestLogsRoundTrip(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.logsClient()
	ctx := t.Context()
	called := map[string]bool{}
	group, stream := "/ecs/web", "ecs/app/0123456789abcdef"

	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)})
	called["CreateLogGroup"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)})
	wantAPIError[*cwltypes.ResourceAlreadyExistsException](t, err, "The specified log group already exists")
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String(stream)})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log group does not exist.")
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	called["CreateLogStream"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	wantAPIError[*cwltypes.ResourceAlreadyExistsException](t, err, "The specified log stream already exists")

	// 25 events over 5 milliseconds, written in two calls.
	base := time.Now().Add(-time.Minute).UnixMilli()
	var batch []cwltypes.InputLogEvent
	for i := range 25 {
		level := "INFO"
		if i%5 == 0 {
			level = "ERROR"
		}
		batch = append(batch, cwltypes.InputLogEvent{Timestamp: aws.Int64(base + int64(i/5)), Message: aws.String(fmt.Sprintf("%s line %02d", level, i))})
	}
	for _, part := range [][]cwltypes.InputLogEvent{batch[:10], batch[10:]} {
		out, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: part})
		if err != nil {
			t.Fatal(err)
		}
		if out.RejectedLogEventsInfo != nil {
			t.Fatalf("rejected: %+v", out.RejectedLogEventsInfo)
		}
	}
	called["PutLogEvents"] = true
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("missing"), LogEvents: batch[:1]})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log stream does not exist.")
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
		LogEvents: []cwltypes.InputLogEvent{batch[7], batch[0]}})
	wantAPIError[*cwltypes.InvalidParameterException](t, err, "Log events in a single PutLogEvents request must be in chronological order.")
	// An event older than 14 days is reported, not stored.
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("old")}); err != nil {
		t.Fatal(err)
	}
	old, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("old"),
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(1), Message: aws.String("1970")}}})
	if err != nil || old.RejectedLogEventsInfo == nil || aws.ToInt32(old.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 0 {
		t.Fatalf("too old: %+v %v", old, err)
	}
	if _, err := c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("old")}); err != nil {
		t.Fatal(err)
	}

	// GetLogEvents: forward from the head in pages of 10, then the same
	// token answers nothing and comes back unchanged.
	var got []string
	var token *string
	for page := 0; ; page++ {
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), Limit: aws.Int32(10), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			got = append(got, *ev.Message)
			if *ev.IngestionTime < *ev.Timestamp {
				t.Errorf("ingestionTime %d before timestamp %d", *ev.IngestionTime, *ev.Timestamp)
			}
		}
		if token != nil && *out.NextForwardToken == *token {
			if len(out.Events) != 0 {
				t.Fatal("the token came back unchanged with events")
			}
			break
		}
		token = out.NextForwardToken
		if page > 5 {
			t.Fatal("paging never ended")
		}
	}
	called["GetLogEvents"] = true
	var want []string
	for _, ev := range batch {
		want = append(want, *ev.Message)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("forward paging (-want +got):\n%s", diff)
	}
	// Without startFromHead the last page comes first; its backward token
	// reads what precedes it.
	last, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Events) != 10 || *last.Events[9].Message != want[24] || *last.Events[0].Message != want[15] {
		t.Fatalf("last page: %d events", len(last.Events))
	}
	prev, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(10), NextToken: last.NextBackwardToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(prev.Events) != 10 || *prev.Events[0].Message != want[5] || *prev.Events[9].Message != want[14] {
		t.Fatalf("previous page: %d events", len(prev.Events))
	}
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), NextToken: aws.String("f/garbage")})
	wantAPIError[*cwltypes.InvalidParameterException](t, err, "The specified nextToken is invalid.")
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String(stream)})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log group does not exist.")
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("nope")})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log stream does not exist.")

	// FilterLogEvents: terms and phrases, across streams, in pages.
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("other"),
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(base + 2), Message: aws.String("ERROR from the other stream")}}}); err != nil {
		t.Fatal(err)
	}
	var filtered []string
	ids := map[string]bool{}
	token = nil
	for {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			filtered = append(filtered, *ev.LogStreamName+": "+*ev.Message)
			if ids[*ev.EventId] {
				t.Errorf("eventId %s answered twice", *ev.EventId)
			}
			ids[*ev.EventId] = true
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	called["FilterLogEvents"] = true
	wantFiltered := []string{stream + ": ERROR line 00", stream + ": ERROR line 05", stream + ": ERROR line 10",
		"other: ERROR from the other stream", stream + ": ERROR line 15", stream + ": ERROR line 20"}
	if diff := cmp.Diff(wantFiltered, filtered); diff != "" {
		t.Fatalf("FilterLogEvents ERROR (-want +got):\n%s", diff)
	}
	phrase, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`"INFO line 1"`),
		LogStreamNames: []string{stream}})
	if err != nil {
		t.Fatal(err)
	}
	if len(phrase.Events) != 8 { // 11-14, 16-19
		t.Fatalf("phrase matched %d events, want 8", len(phrase.Events))
	}
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/nope")})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log group does not exist.")

	// Describe, ordered and paged.
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(7)})
	called["PutRetentionPolicy"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(2)})
	wantAPIError[*cwltypes.InvalidParameterException](t, err, "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
	for i := range 3 {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(fmt.Sprintf("/ecs/z%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pg := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/"), Limit: aws.Int32(2)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			names = append(names, *g.LogGroupName)
			if *g.LogGroupName == group {
				if g.RetentionInDays == nil || *g.RetentionInDays != 7 || *g.StoredBytes == 0 ||
					*g.Arn != "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*" {
					t.Errorf("group %+v", g)
				}
			}
		}
	}
	called["DescribeLogGroups"] = true
	if diff := cmp.Diff([]string{"/ecs/web", "/ecs/z0", "/ecs/z1", "/ecs/z2"}, names); diff != "" {
		t.Fatalf("DescribeLogGroups (-want +got):\n%s", diff)
	}
	streams, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String(group),
		OrderBy: cwltypes.OrderByLastEventTime, Descending: aws.Bool(true)})
	called["DescribeLogStreams"] = true
	if err != nil {
		t.Fatal(err)
	}
	if len(streams.LogStreams) != 2 || *streams.LogStreams[0].LogStreamName != stream ||
		*streams.LogStreams[0].LastEventTimestamp != base+4 || *streams.LogStreams[0].FirstEventTimestamp != base {
		t.Fatalf("streams by last event: %+v", streams.LogStreams)
	}
	_, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String(group), OrderBy: cwltypes.OrderByLastEventTime, LogStreamNamePrefix: aws.String("e")})
	wantAPIError[*cwltypes.InvalidParameterException](t, err, "Cannot order by LastEventTime with a logStreamNamePrefix.")

	_, err = c.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String(group)})
	called["DeleteRetentionPolicy"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("other")})
	called["DeleteLogStream"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("other")})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log stream does not exist.")
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	called["DeleteLogGroup"] = true
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	wantAPIError[*cwltypes.ResourceNotFoundException](t, err, "The specified log group does not exist.")

	for _, op := range api.LogsOperations {
		if !called[op] {
			t.Errorf("%s is served but TestLogsRoundTrip never calls it", op)
		}
	}
}

// TestLogsProtocol checks what the SDK hides: the validation wording, an
// operation of the Logs model ecsd does not serve, and that an ECS target
// still reaches ECS.
func TestLogsProtocol(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	post := func(op, body string) (int, map[string]any) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL()+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
		resp, b := do(t, req)
		return resp.StatusCode, decodeJSON(t, b)
	}
	for _, tt := range []struct {
		op, body string
		status   int
		typ, msg string
	}{
		{"CreateLogGroup", `{}`, 400, "InvalidParameterException", "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"},
		{"CreateLogGroup", `{"logGroupName":""}`, 400, "InvalidParameterException", "2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"DescribeLogStreams", `{"logGroupName":"g","orderBy":"Nope"}`, 400, "InvalidParameterException", "1 validation error detected: Value 'Nope' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","limit":0}`, 400, "InvalidParameterException", "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"FilterLogEvents", `{"logGroupName":"g","filterPattern":"\"open"}`, 400, "InvalidParameterException", "Invalid filter pattern: unterminated quoted phrase."},
		{"StartQuery", `{}`, 400, "InvalidOperationException", "ecsd does not implement StartQuery yet; see docs/compat.md for the operations it supports."},
		{"CreateLogGroup", `{"logGroupName":5}`, 400, "SerializationException", ""},
	} {
		status, body := post(tt.op, tt.body)
		if status != tt.status || body["__type"] != tt.typ || (tt.msg != "" && body["message"] != tt.msg) {
			t.Errorf("%s %s: %d %v, want %d %s %q", tt.op, tt.body, status, body, tt.status, tt.typ, tt.msg)
		}
	}
}

// awslogsContainer is a simulated container writing lines through the
// awslogs driver.
func awslogsContainer(name string, opts map[string]string, env ...string) ecstypes.ContainerDefinition {
	c := simContainer(name, true, env...)
	c.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: opts}
	return c
}

func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// streamMessages reads a whole stream from the head.
func streamMessages(ctx context.Context, c *cwl.Client, group, stream string) ([]string, error) {
	var msgs []string
	var token *string
	for {
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range out.Events {
			msgs = append(msgs, *e.Message)
		}
		if token != nil && *token == *out.NextForwardToken {
			return msgs, nil
		}
		token = out.NextForwardToken
	}
}

// TestAwslogsSimulated runs tasks whose containers use the awslogs driver
// on the simulated runtime: their scripted lines land in the group and
// stream ECS names, with awslogs-create-group making the group, and
// without it waiting for the group to exist.
func TestAwslogsSimulated(t *testing.T) {
	t.Parallel()
	e := startServer(t, func(c *server.Config) { c.LogSweepEvery = 50 * time.Millisecond })
	c, lc := e.defaultClient(), e.logsClient()
	ctx := t.Context()
	opts := map[string]string{"awslogs-group": "/ecs/sim", "awslogs-region": defaultRegion,
		"awslogs-stream-prefix": "web", "awslogs-create-group": "true"}
	registerBridge(t, c, "logger", awslogsContainer("app", opts,
		"ECSD_SIM_LOG", `starting\nserving request {n}\ndone`, "ECSD_SIM_RUN_SECONDS", "0.2"))
	tasks := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("logger")})
	arn := aws.ToString(tasks[0].TaskArn)
	waitStopped(t, c, "default", arn)
	stream := "web/app/" + taskID(arn)
	var msgs []string
	waitFor(t, 10*time.Second, "the task's lines in CloudWatch Logs", func() error {
		var err error
		msgs, err = streamMessages(ctx, lc, "/ecs/sim", stream)
		if err != nil {
			return err
		}
		if len(msgs) < 3 {
			return fmt.Errorf("%d lines so far", len(msgs))
		}
		return nil
	})
	if diff := cmp.Diff([]string{"starting", "serving request 1", "done"}, msgs); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}

	// Without awslogs-create-group the group must exist: the lines wait
	// in the runtime until it does.
	opts2 := map[string]string{"awslogs-group": "/ecs/later", "awslogs-region": defaultRegion, "awslogs-stream-prefix": "p"}
	registerBridge(t, c, "later", awslogsContainer("app", opts2, "ECSD_SIM_LOG", "tick {n}", "ECSD_SIM_LOG_EVERY", "0.01"))
	arn2 := aws.ToString(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("later")})[0].TaskArn)
	waitRunning(t, c, "default", arn2)
	if _, err := lc.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/ecs/later")}); err == nil {
		t.Fatal("the group exists before anyone created it")
	}
	if _, err := lc.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/ecs/later")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "lines after the group was created", func() error {
		msgs, err := streamMessages(ctx, lc, "/ecs/later", "p/app/"+taskID(arn2))
		if err != nil {
			return err
		}
		if len(msgs) < 5 || msgs[0] != "tick 0" || msgs[4] != "tick 4" {
			return fmt.Errorf("lines %v", msgs)
		}
		return nil
	})
}

// TestAwslogsSurvivesRestart stops ecsd while a container writes and
// starts it again on the same data directory: the stream goes on with
// neither a gap nor a repeated line.
func TestAwslogsSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startServer(t, withDataDir(dir))
	c := e.defaultClient()
	opts := map[string]string{"awslogs-group": "/ecs/restart", "awslogs-region": defaultRegion,
		"awslogs-stream-prefix": "p", "awslogs-create-group": "true"}
	// Two lines per millisecond at times, so resuming inside a
	// millisecond is exercised.
	registerBridge(t, c, "chatty", awslogsContainer("app", opts, "ECSD_SIM_LOG", "line {n}", "ECSD_SIM_LOG_EVERY", "0.0005"))
	arn := aws.ToString(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("chatty")})[0].TaskArn)
	stream := "p/app/" + taskID(arn)
	count := func(e *ecsd, atLeast int) []string {
		var msgs []string
		waitFor(t, 20*time.Second, "lines", func() error {
			var err error
			msgs, err = streamMessages(t.Context(), e.logsClient(), "/ecs/restart", stream)
			if err != nil {
				return err
			}
			if len(msgs) < atLeast {
				return fmt.Errorf("%d lines", len(msgs))
			}
			return nil
		})
		return msgs
	}
	before := count(e, 200)
	e.stop(t)
	e2 := startServer(t, withDataDir(dir))
	after := count(e2, len(before)+500)
	for i, m := range after {
		if want := fmt.Sprintf("line %d", i); m != want {
			t.Fatalf("line %d is %q, want %q (%d before the restart)", i, m, want, len(before))
		}
	}
	if _, err := e2.defaultClient().StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}

func getEvents(group, stream string) *cwl.GetLogEventsInput {
	return &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
}
