package reliability

// logsSeeds are the CloudWatch Logs requests of the shapes the AWS CLI and
// SDKs send, against the fixtures (group /fz with one stream); Seeds holds
// them under "logs:Operation".
var logsSeeds = map[string][]string{
	"CreateLogGroup":  {`{"logGroupName":"/fz/new","tags":{"team":"fuzz"},"logGroupClass":"STANDARD"}`, `{"logGroupName":"/fz"}`},
	"CreateLogStream": {`{"logGroupName":"/fz","logStreamName":"fz/app/new"}`},
	"DeleteLogGroup":  {`{"logGroupName":"/fz/gone"}`},
	"DeleteLogStream": {`{"logGroupName":"/fz","logStreamName":"fz/app/gone"}`},
	"PutRetentionPolicy": {
		`{"logGroupName":"/fz","retentionInDays":3653}`, `{"logGroupName":"/fz","retentionInDays":2}`,
	},
	"DeleteRetentionPolicy": {`{"logGroupName":"/fz"}`},
	"DescribeLogGroups": {
		`{"logGroupNamePrefix":"/f","limit":5}`, `{"logGroupNamePattern":"fz","nextToken":"n//fz"}`, `{}`,
	},
	"DescribeLogStreams": {
		`{"logGroupName":"/fz","orderBy":"LastEventTime","descending":true,"limit":10}`,
		`{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/fz:*","logStreamNamePrefix":"fz/"}`,
	},
	"PutLogEvents": {
		`{"logGroupName":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef","logEvents":[{"timestamp":1,"message":"old"},{"timestamp":4102444800000,"message":"new"}],"sequenceToken":"49590"}`,
	},
	"GetLogEvents": {
		`{"logGroupName":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef","startFromHead":true,"limit":10}`,
		`{"logGroupIdentifier":"/fz","logStreamName":"fz/app/0123456789abcdef0123456789abcdef","startTime":0,"endTime":4102444800000,` +
			`"nextToken":"b/0000000000000000000000000000000000000000"}`,
	},
	"FilterLogEvents": {
		`{"logGroupName":"/fz","filterPattern":"?ERROR ?WARN -\"GET /health\"","interleaved":true,"limit":100,"startTime":0}`,
		`{"logGroupName":"/fz","logStreamNamePrefix":"fz/","filterPattern":"%ERR[O]R%","nextToken":"0000000000000000000000000000000000000000"}`,
		`{"logGroupName":"/fz","logStreamNames":["fz/app/0123456789abcdef0123456789abcdef"]}`,
	},
}

func init() {
	for op, seeds := range logsSeeds {
		Seeds[LogsOp(op)] = seeds
	}
}
