package control

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/ecsd/ecsd/internal/cwlogs"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// Logs is the CloudWatch Logs API's use-cases: validate as CloudWatch Logs
// does, then one call into the Logs store.
type Logs struct {
	Store   store.LogStore
	NowFunc func() time.Time
	// FilterScanLimit bounds how many events one FilterLogEvents looks at
	// before it answers with a nextToken (CloudWatch Logs also answers
	// partial pages on large groups); 0 is 100,000.
	FilterScanLimit int
}

func (l *Logs) now() time.Time {
	if l.NowFunc != nil {
		return l.NowFunc()
	}
	return time.Now()
}

func scopeOf(who Caller) store.Scope { return store.Scope{Account: who.Account, Region: who.Region} }

// logsError maps the store's not-found and exists errors onto CloudWatch
// Logs' words.
func logsError(err error, exists string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.LogGroupMissing):
		return cwlogs.ResourceNotFound(cwlogs.MsgGroupNotFound)
	case errors.Is(err, store.ErrNotFound):
		return cwlogs.ResourceNotFound(cwlogs.MsgStreamNotFound)
	case errors.Is(err, store.ErrExists):
		return cwlogs.ResourceAlreadyExists(exists)
	}
	return ecs.ServerException(err)
}

// groupFrom reads the group an operation addresses: logGroupName or
// logGroupIdentifier (a name or an ARN, with or without ":*"), not both.
func groupFrom(v *cwlogs.Validation, name, ident *string) (string, error) {
	if name != nil && ident != nil {
		return "", cwlogs.InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	if ident != nil {
		s := strings.TrimSuffix(*ident, ":*")
		if rest, ok := strings.CutPrefix(s, "arn:"); ok {
			// arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME
			parts := strings.SplitN(rest, ":", 6)
			if len(parts) != 6 || parts[1] != "logs" || parts[4] != "log-group" {
				v.Fail(*ident, "logGroupIdentifier", "satisfy regular expression pattern: [\\w#+=/:,.@-]*")
				return "", nil
			}
			s = parts[5]
		}
		return v.GroupName(&s, "logGroupIdentifier"), nil
	}
	return v.GroupName(name, "logGroupName"), nil
}

// CreateLogGroup creates a log group.
func (l *Logs) CreateLogGroup(ctx context.Context, who Caller, in *cwl.CreateLogGroupInput) (*cwl.CreateLogGroupOutput, error) {
	var v cwlogs.Validation
	name := v.GroupName(in.LogGroupName, "logGroupName")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(name), "aws/") {
		return nil, cwlogs.InvalidParameter("Log groups starting with AWS/ are reserved for AWS.")
	}
	err := l.Store.CreateLogGroup(ctx, store.LogGroup{Scope: scopeOf(who), Name: name, CreatedAt: l.now()})
	if err != nil {
		return nil, logsError(err, cwlogs.MsgGroupExists)
	}
	return &cwl.CreateLogGroupOutput{}, nil
}

// CreateLogStream creates a stream in a group.
func (l *Logs) CreateLogStream(ctx context.Context, who Caller, in *cwl.CreateLogStreamInput) (*cwl.CreateLogStreamOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	stream := v.StreamName(in.LogStreamName, "logStreamName")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Store.CreateLogStream(ctx, scopeOf(who), group, stream, l.now()); err != nil {
		return nil, logsError(err, cwlogs.MsgStreamExists)
	}
	return &cwl.CreateLogStreamOutput{}, nil
}

// DeleteLogGroup deletes a group, its streams and events.
func (l *Logs) DeleteLogGroup(ctx context.Context, who Caller, in *cwl.DeleteLogGroupInput) (*cwl.DeleteLogGroupOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Store.DeleteLogGroup(ctx, scopeOf(who), group); err != nil {
		return nil, logsError(err, "")
	}
	return &cwl.DeleteLogGroupOutput{}, nil
}

// DeleteLogStream deletes a stream and its events.
func (l *Logs) DeleteLogStream(ctx context.Context, who Caller, in *cwl.DeleteLogStreamInput) (*cwl.DeleteLogStreamOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	stream := v.StreamName(in.LogStreamName, "logStreamName")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Store.DeleteLogStream(ctx, scopeOf(who), group, stream); err != nil {
		return nil, logsError(err, "")
	}
	return &cwl.DeleteLogStreamOutput{}, nil
}

// PutRetentionPolicy sets how long a group keeps events.
func (l *Logs) PutRetentionPolicy(ctx context.Context, who Caller, in *cwl.PutRetentionPolicyInput) (*cwl.PutRetentionPolicyOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	days := v.Retention(in.RetentionInDays)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Store.SetLogRetention(ctx, scopeOf(who), group, days); err != nil {
		return nil, logsError(err, "")
	}
	return &cwl.PutRetentionPolicyOutput{}, nil
}

// DeleteRetentionPolicy makes a group keep its events for ever.
func (l *Logs) DeleteRetentionPolicy(ctx context.Context, who Caller, in *cwl.DeleteRetentionPolicyInput) (*cwl.DeleteRetentionPolicyOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Store.SetLogRetention(ctx, scopeOf(who), group, 0); err != nil {
		return nil, logsError(err, "")
	}
	return &cwl.DeleteRetentionPolicyOutput{}, nil
}

// nameToken pages by name: the last name answered, behind a prefix that
// tells ecsd's tokens from anything else.
const nameTokenPrefix = "n/"

func decodeNameToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	name, ok := strings.CutPrefix(*tok, nameTokenPrefix)
	if !ok || name == "" {
		return "", cwlogs.InvalidParameter(cwlogs.MsgBadToken)
	}
	return name, nil
}

// DescribeLogGroups lists groups by name.
func (l *Logs) DescribeLogGroups(ctx context.Context, who Caller, in *cwl.DescribeLogGroupsInput) (*cwl.DescribeLogGroupsOutput, error) {
	var v cwlogs.Validation
	limit := v.Range(in.Limit, "limit", 1, cwlogs.MaxDescribe, cwlogs.MaxDescribe)
	q := store.LogGroupQuery{Limit: limit + 1}
	if in.LogGroupNamePrefix != nil {
		q.Prefix = v.GroupName(in.LogGroupNamePrefix, "logGroupNamePrefix")
	}
	if in.LogGroupNamePattern != nil {
		q.Contains = *in.LogGroupNamePattern
		v.Length(q.Contains, "logGroupNamePattern", 0, 512)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, cwlogs.InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	after, err := decodeNameToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	q.After = after
	groups, err := l.Store.LogGroups(ctx, scopeOf(who), q)
	if err != nil {
		return nil, logsError(err, "")
	}
	out := &cwl.DescribeLogGroupsOutput{LogGroups: []cwltypes.LogGroup{}}
	for i, g := range groups {
		if i == limit {
			out.NextToken = ptr(nameTokenPrefix + groups[i-1].Name)
			break
		}
		out.LogGroups = append(out.LogGroups, logGroupOut(g))
	}
	return out, nil
}

func logGroupOut(g store.LogGroup) cwltypes.LogGroup {
	arn := cwlogs.GroupARN(g.Region, g.Account, g.Name)
	out := cwltypes.LogGroup{
		Arn:                       ptr(arn + ":*"),
		LogGroupArn:               ptr(arn),
		LogGroupName:              ptr(g.Name),
		CreationTime:              ptr(g.CreatedAt.UnixMilli()),
		MetricFilterCount:         ptr(int32(0)),
		StoredBytes:               ptr(g.StoredBytes),
		LogGroupClass:             cwltypes.LogGroupClassStandard,
		DeletionProtectionEnabled: ptr(false),
	}
	if g.RetentionDays > 0 {
		out.RetentionInDays = ptr(int32(g.RetentionDays))
	}
	return out
}

// DescribeLogStreams lists a group's streams.
func (l *Logs) DescribeLogStreams(ctx context.Context, who Caller, in *cwl.DescribeLogStreamsInput) (*cwl.DescribeLogStreamsOutput, error) {
	var v cwlogs.Validation
	group, err := groupFrom(&v, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := v.Range(in.Limit, "limit", 1, cwlogs.MaxDescribe, cwlogs.MaxDescribe)
	q := store.LogStreamQuery{Limit: limit + 1, Desc: in.Descending != nil && *in.Descending}
	if in.LogStreamNamePrefix != nil {
		q.Prefix = v.StreamName(in.LogStreamNamePrefix, "logStreamNamePrefix")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	q.ByLastEvent = in.OrderBy == cwltypes.OrderByLastEventTime
	if q.ByLastEvent && in.LogStreamNamePrefix != nil {
		return nil, cwlogs.InvalidParameter(cwlogs.MsgOrderByPrefix)
	}
	if in.NextToken != nil {
		// "s/<lastEventMillis>/<name>": the order's key of the last stream
		// answered.
		rest, ok := strings.CutPrefix(*in.NextToken, "s/")
		ts, name, ok2 := strings.Cut(rest, "/")
		n, err := strconv.ParseInt(ts, 10, 64)
		if !ok || !ok2 || err != nil || name == "" {
			return nil, cwlogs.InvalidParameter(cwlogs.MsgBadToken)
		}
		q.After = &store.LogStream{Name: name, LastEvent: n}
	}
	streams, err := l.Store.LogStreams(ctx, scopeOf(who), group, q)
	if err != nil {
		return nil, logsError(err, "")
	}
	out := &cwl.DescribeLogStreamsOutput{LogStreams: []cwltypes.LogStream{}}
	for i, s := range streams {
		if i == limit {
			last := streams[i-1]
			out.NextToken = ptr("s/" + strconv.FormatInt(last.LastEvent, 10) + "/" + last.Name)
			break
		}
		ls := cwltypes.LogStream{
			Arn:           ptr(cwlogs.StreamARN(who.Region, who.Account, group, s.Name)),
			LogStreamName: ptr(s.Name),
			CreationTime:  ptr(s.CreatedAt.UnixMilli()),
			// Deprecated by CloudWatch Logs, which now answers 0.
			StoredBytes: ptr(int64(0)),
		}
		if s.LastIngestion != 0 {
			ls.FirstEventTimestamp = ptr(s.FirstEvent)
			ls.LastEventTimestamp = ptr(s.LastEvent)
			ls.LastIngestionTime = ptr(s.LastIngestion)
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	return out, nil
}

// PutLogEvents appends events to a stream. Since 2023 CloudWatch Logs
// ignores sequenceToken; events too old or too new are reported in
// rejectedLogEventsInfo and the rest stored.
func (l *Logs) PutLogEvents(ctx context.Context, who Caller, in *cwl.PutLogEventsInput) (*cwl.PutLogEventsOutput, error) {
	var v cwlogs.Validation
	group := v.GroupName(in.LogGroupName, "logGroupName")
	stream := v.StreamName(in.LogStreamName, "logStreamName")
	if in.LogEvents == nil {
		v.Fail(nil, "logEvents", "not be null")
	} else if len(in.LogEvents) < 1 || len(in.LogEvents) > cwlogs.MaxPutEvents {
		v.Fail("["+strconv.Itoa(len(in.LogEvents))+" events]", "logEvents", "have length between 1 and 10000")
	}
	size := 0
	for i, e := range in.LogEvents {
		member := "logEvents." + strconv.Itoa(i+1)
		if e.Message == nil {
			v.Fail(nil, member+".member.message", "not be null")
		} else if len(*e.Message) < 1 {
			v.Fail(*e.Message, member+".member.message", "have length greater than or equal to 1")
		} else {
			size += len(*e.Message) + cwlogs.EventOverheadBytes
		}
		if e.Timestamp == nil {
			v.Fail(nil, member+".member.timestamp", "not be null")
		} else if *e.Timestamp < 0 {
			v.Fail(*e.Timestamp, member+".member.timestamp", "have value greater than or equal to 0")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if size > cwlogs.MaxPutBytes {
		return nil, cwlogs.InvalidParameter("Upload too large: %d bytes exceeds limit of %d", size, cwlogs.MaxPutBytes)
	}
	for i := 1; i < len(in.LogEvents); i++ {
		if *in.LogEvents[i].Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, cwlogs.InvalidParameter(cwlogs.MsgChronological)
		}
	}
	if *in.LogEvents[len(in.LogEvents)-1].Timestamp-*in.LogEvents[0].Timestamp > 24*3600*1000 {
		return nil, cwlogs.InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	now := l.now().UnixMilli()
	out := &cwl.PutLogEventsOutput{}
	var keep []store.LogEvent
	var rejected cwltypes.RejectedLogEventsInfo
	for i, e := range in.LogEvents {
		switch ts := *e.Timestamp; {
		case ts < now-cwlogs.MaxPastAgeMillis:
			rejected.TooOldLogEventEndIndex = ptr(int32(i))
		case ts > now+cwlogs.MaxFutureAgeMillis:
			if rejected.TooNewLogEventStartIndex == nil {
				rejected.TooNewLogEventStartIndex = ptr(int32(i))
			}
		default:
			keep = append(keep, store.LogEvent{Timestamp: ts, Ingestion: now, Message: *e.Message})
		}
	}
	if rejected.TooOldLogEventEndIndex != nil || rejected.TooNewLogEventStartIndex != nil {
		out.RejectedLogEventsInfo = &rejected
	}
	if err := l.Store.PutLogEvents(ctx, scopeOf(who), group, stream, keep, false); err != nil {
		return nil, logsError(err, "")
	}
	return out, nil
}

func optMillis(p *int64) *int64 {
	if p == nil {
		return nil
	}
	n := *p
	return &n
}

// GetLogEvents reads one stream a page at a time, forward or backward.
func (l *Logs) GetLogEvents(ctx context.Context, who Caller, in *cwl.GetLogEventsInput) (*cwl.GetLogEventsOutput, error) {
	var v cwlogs.Validation
	group, err := groupFrom(&v, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	stream := v.StreamName(in.LogStreamName, "logStreamName")
	limit := v.Range(in.Limit, "limit", 1, cwlogs.MaxGetEvents, cwlogs.MaxGetEvents)
	if in.StartTime != nil && *in.StartTime < 0 {
		v.Fail(*in.StartTime, "startTime", "have value greater than or equal to 0")
	}
	if in.EndTime != nil && *in.EndTime < 0 {
		v.Fail(*in.EndTime, "endTime", "have value greater than or equal to 0")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	q := store.LogEventsQuery{Start: optMillis(in.StartTime), End: optMillis(in.EndTime), Limit: limit, MaxBytes: cwlogs.MaxResponseBytes}
	// Without a token: startFromHead reads from the first event, else the
	// last page of the stream is answered.
	q.Backward = in.StartFromHead == nil || !*in.StartFromHead
	var pos *cwlogs.Position
	if in.NextToken != nil {
		prefix, p, err := cwlogs.DecodeToken(*in.NextToken)
		if err != nil || (prefix != "f" && prefix != "b") {
			return nil, cwlogs.InvalidParameter(cwlogs.MsgBadToken)
		}
		pos = &p
		q.Backward = prefix == "b"
		if q.Backward {
			q.Before = &store.LogPosition{Timestamp: p.Timestamp, ID: p.ID}
		} else {
			q.After = &store.LogPosition{Timestamp: p.Timestamp, ID: p.ID}
		}
	}
	events, err := l.Store.GetLogEvents(ctx, scopeOf(who), group, stream, q)
	if err != nil {
		return nil, logsError(err, "")
	}
	out := &cwl.GetLogEventsOutput{Events: make([]cwltypes.OutputLogEvent, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, cwltypes.OutputLogEvent{
			Timestamp: ptr(e.Timestamp), IngestionTime: ptr(e.Ingestion), Message: ptr(e.Message),
		})
	}
	// A forward token f/P reads the events after P, a backward one b/P
	// those before it; at either end of the stream the token asked with
	// comes back unchanged, which is how clients know to stop.
	var fwd, back cwlogs.Position
	switch {
	case len(events) > 0:
		first, last := events[0], events[len(events)-1]
		fwd = cwlogs.Position{Timestamp: last.Timestamp, ID: last.ID}
		back = cwlogs.Position{Timestamp: first.Timestamp, ID: first.ID}
	case pos != nil && q.Backward:
		back = *pos
		fwd = cwlogs.Position{Timestamp: pos.Timestamp, ID: pos.ID - 1}
	case pos != nil:
		fwd = *pos
		back = cwlogs.Position{Timestamp: pos.Timestamp, ID: pos.ID + 1}
	default:
		// An empty stream: the forward token reads from its start, so a
		// poller sees what is written later.
		fwd = cwlogs.Position{Timestamp: math.MinInt64, ID: math.MinInt64}
		back = cwlogs.Position{Timestamp: math.MaxInt64, ID: math.MaxInt64}
	}
	out.NextForwardToken = ptr(cwlogs.EncodeToken("f", fwd))
	out.NextBackwardToken = ptr(cwlogs.EncodeToken("b", back))
	return out, nil
}

// FilterLogEvents searches a group's events across streams, in time order.
func (l *Logs) FilterLogEvents(ctx context.Context, who Caller, in *cwl.FilterLogEventsInput) (*cwl.FilterLogEventsOutput, error) {
	var v cwlogs.Validation
	group, err := groupFrom(&v, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := v.Range(in.Limit, "limit", 1, cwlogs.MaxGetEvents, cwlogs.MaxGetEvents)
	if in.LogStreamNames != nil && (len(in.LogStreamNames) < 1 || len(in.LogStreamNames) > 100) {
		v.Fail(in.LogStreamNames, "logStreamNames", "have length between 1 and 100")
	}
	for i := range in.LogStreamNames {
		v.StreamName(&in.LogStreamNames[i], "logStreamNames")
	}
	var prefix string
	if in.LogStreamNamePrefix != nil {
		prefix = v.StreamName(in.LogStreamNamePrefix, "logStreamNamePrefix")
	}
	if in.StartTime != nil && *in.StartTime < 0 {
		v.Fail(*in.StartTime, "startTime", "have value greater than or equal to 0")
	}
	if in.EndTime != nil && *in.EndTime < 0 {
		v.Fail(*in.EndTime, "endTime", "have value greater than or equal to 0")
	}
	if in.FilterPattern != nil {
		v.Length(*in.FilterPattern, "filterPattern", 0, cwlogs.MaxFilterPatternLen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, cwlogs.InvalidParameter("Cannot specify both logStreamNames and logStreamNamePrefix.")
	}
	pattern, err := cwlogs.CompilePattern(deref(in.FilterPattern))
	if err != nil {
		return nil, err
	}
	q := store.FilterLogEventsQuery{
		Streams: in.LogStreamNames, StreamPrefix: prefix,
		Start: optMillis(in.StartTime), End: optMillis(in.EndTime),
		Limit: limit, ScanLimit: l.FilterScanLimit, MaxBytes: cwlogs.MaxResponseBytes,
	}
	if q.ScanLimit <= 0 {
		q.ScanLimit = 100000
	}
	if !pattern.MatchesAll() {
		q.Match, q.Contains = pattern.Match, pattern.Required()
	}
	// A search that finds little in a large group answers what it has
	// after a second, with a nextToken, rather than holding the client.
	q.Budget = time.Second
	if in.NextToken != nil {
		tp, p, err := cwlogs.DecodeToken(*in.NextToken)
		if err != nil || tp != "" {
			return nil, cwlogs.InvalidParameter(cwlogs.MsgBadToken)
		}
		q.After = &store.LogPosition{Timestamp: p.Timestamp, ID: p.ID}
	}
	res, err := l.Store.FilterLogEvents(ctx, scopeOf(who), group, q)
	if err != nil {
		return nil, logsError(err, "")
	}
	out := &cwl.FilterLogEventsOutput{Events: make([]cwltypes.FilteredLogEvent, 0, len(res.Events))}
	for _, e := range res.Events {
		out.Events = append(out.Events, cwltypes.FilteredLogEvent{
			EventId:       ptr(cwlogs.EventID(e.ID)),
			LogStreamName: ptr(e.Stream),
			Timestamp:     ptr(e.Timestamp),
			IngestionTime: ptr(e.Ingestion),
			Message:       ptr(e.Message),
		})
	}
	if !res.Done {
		out.NextToken = ptr(cwlogs.EncodeToken("", cwlogs.Position{Timestamp: res.Last.Timestamp, ID: res.Last.ID}))
	}
	return out, nil
}
