package store

import "strconv"

// TaskDefinitionARN returns the ARN of one revision. Stores key the tags of
// a revision by it: RegisterTaskDefinition receives tags but no ARN, and the
// tags must still be found under the ARN a client later sends.
func TaskDefinitionARN(s Scope, family string, revision int) string {
	return "arn:aws:ecs:" + s.Region + ":" + s.Account + ":task-definition/" + family + ":" + strconv.Itoa(revision)
}
