// Package cwlogs is the CloudWatch Logs domain: name rules, the
// validation messages, limits and error vocabulary of the Logs API, its
// pagination tokens, filter patterns, and the names the awslogs log driver
// gives groups and streams for ECS tasks. Stdlib and the shared error type
// only: it must never import the protocol, the store or the use-cases.
package cwlogs

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ecsd/ecsd/internal/ecs"
)

// Messages CloudWatch Logs answers, word for word (moto and botocore test
// fixtures record them from AWS; see docs/compat.md).
const (
	MsgGroupNotFound  = "The specified log group does not exist."
	MsgStreamNotFound = "The specified log stream does not exist."
	MsgGroupExists    = "The specified log group already exists"
	MsgStreamExists   = "The specified log stream already exists"
	MsgBadToken       = "The specified nextToken is invalid."
	MsgOrderByPrefix  = "Cannot order by LastEventTime with a logStreamNamePrefix."
	MsgChronological  = "Log events in a single PutLogEvents request must be in chronological order."
)

// ResourceNotFound is CloudWatch Logs' ResourceNotFoundException.
func ResourceNotFound(msg string) *ecs.Error {
	return &ecs.Error{Code: "ResourceNotFoundException", Message: msg}
}

// ResourceAlreadyExists is CloudWatch Logs' ResourceAlreadyExistsException.
func ResourceAlreadyExists(msg string) *ecs.Error {
	return &ecs.Error{Code: "ResourceAlreadyExistsException", Message: msg}
}

// InvalidParameter is CloudWatch Logs' InvalidParameterException.
func InvalidParameter(format string, args ...any) *ecs.Error {
	return &ecs.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

// Validation collects constraint violations and words them as AWS's
// request validation does: "1 validation error detected: Value 'x' at
// 'logGroupName' failed to satisfy constraint: Member must ...", several
// joined with "; ". CloudWatch Logs answers them as
// InvalidParameterException.
type Validation struct{ errs []string }

// Fail records that value at member breaks constraint.
func (v *Validation) Fail(value any, member, constraint string) {
	var shown string
	switch x := value.(type) {
	case nil:
		shown = "null"
	case string:
		shown = "'" + x + "'"
	case []string:
		shown = "'[" + strings.Join(x, ", ") + "]'"
	default:
		shown = fmt.Sprintf("'%v'", x)
	}
	v.errs = append(v.errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", shown, member, constraint))
}

// Err is the InvalidParameterException for what was recorded, or nil.
func (v *Validation) Err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return InvalidParameter("1 validation error detected: %s", v.errs[0])
	}
	return InvalidParameter("%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
}

// Name patterns and limits from the CloudWatch Logs model.
const (
	GroupNamePattern  = `[\.\-_/#A-Za-z0-9]+`
	StreamNamePattern = `[^:*]*`
	MaxNameLength     = 512
)

var (
	groupNameRE  = regexp.MustCompile(`^` + GroupNamePattern + `$`)
	streamNameRE = regexp.MustCompile(`^` + StreamNamePattern + `$`)
)

// GroupName checks a log group name (required) at member.
func (v *Validation) GroupName(p *string, member string) string {
	if p == nil {
		v.Fail(nil, member, "not be null")
		return ""
	}
	s := *p
	if !groupNameRE.MatchString(s) {
		v.Fail(s, member, "satisfy regular expression pattern: "+GroupNamePattern)
	}
	v.Length(s, member, 1, MaxNameLength)
	return s
}

// StreamName checks a log stream name (required) at member.
func (v *Validation) StreamName(p *string, member string) string {
	if p == nil {
		v.Fail(nil, member, "not be null")
		return ""
	}
	s := *p
	if !streamNameRE.MatchString(s) {
		v.Fail(s, member, "satisfy regular expression pattern: "+StreamNamePattern)
	}
	v.Length(s, member, 1, MaxNameLength)
	return s
}

// Length checks a string's length in characters.
func (v *Validation) Length(s, member string, lo, hi int) {
	n := len([]rune(s))
	if n < lo {
		v.Fail(s, member, "have length greater than or equal to "+strconv.Itoa(lo))
	}
	if n > hi {
		v.Fail(s, member, "have length less than or equal to "+strconv.Itoa(hi))
	}
}

// Range checks an optional integer and returns it, or def when absent.
func (v *Validation) Range(p *int32, member string, lo, hi, def int) int {
	if p == nil {
		return def
	}
	n := int(*p)
	if n < lo {
		v.Fail(n, member, "have value greater than or equal to "+strconv.Itoa(lo))
	}
	if n > hi {
		v.Fail(n, member, "have value less than or equal to "+strconv.Itoa(hi))
	}
	return n
}

// RetentionDays are the retention periods PutRetentionPolicy accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Retention checks retentionInDays.
func (v *Validation) Retention(p *int32) int {
	if p == nil {
		v.Fail(nil, "retentionInDays", "not be null")
		return 0
	}
	if !slices.Contains(RetentionDays, int(*p)) {
		vals := make([]string, len(RetentionDays))
		for i, d := range RetentionDays {
			vals[i] = strconv.Itoa(d)
		}
		v.Fail(*p, "retentionInDays", "satisfy enum value set: ["+strings.Join(vals, ", ")+"]")
	}
	return int(*p)
}

// Limits of the Logs API, from its model and service quotas.
const (
	MaxGetEvents        = 10000   // GetLogEvents and FilterLogEvents limit
	MaxResponseBytes    = 1 << 20 // 1 MB of events per answer
	MaxDescribe         = 50      // DescribeLogGroups and DescribeLogStreams
	MaxPutEvents        = 10000
	MaxPutBytes         = 1048576 // messages plus 26 bytes each
	EventOverheadBytes  = 26
	MaxEventBytes       = 1048550 // one message: 1 MB less the overhead
	MaxFilterPatternLen = 1024
	// MaxPastAge and MaxFutureAge bound what PutLogEvents accepts: older
	// than 14 days or more than 2 hours ahead is rejected (reported in
	// rejectedLogEventsInfo, not as an error).
	MaxPastAgeMillis   = 14 * 24 * 3600 * 1000
	MaxFutureAgeMillis = 2 * 3600 * 1000
)

// GroupARN is a log group's ARN as DescribeLogGroups reports it: the
// "arn" member ends in ":*", logGroupArn does not.
func GroupARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, name)
}

// StreamARN is a log stream's ARN.
func StreamARN(region, account, group, stream string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", region, account, group, stream)
}

// AwslogsStreamName is the stream the awslogs driver writes a container of
// an ECS task to: prefix/container-name/task-id with awslogs-stream-prefix
// set. Without a prefix the Docker driver names the stream after the
// container's ID; ECS requires a prefix on Fargate, and ecsd uses
// container-name/task-id so a stream still names its task.
func AwslogsStreamName(prefix, container, taskID string) string {
	if prefix == "" {
		return container + "/" + taskID
	}
	return prefix + "/" + container + "/" + taskID
}
