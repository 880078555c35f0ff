package store

import "github.com/ecsd/ecsd/internal/ecs"

// TaskDefinitionARN returns the ARN of one revision, exactly as clients
// see it. Stores key the tags of a revision by it: RegisterTaskDefinition
// receives tags but no ARN, and the tags must still be found under the ARN
// a client later sends.
func TaskDefinitionARN(s Scope, family string, revision int) string {
	return ecs.TaskDefinitionARN(s.Region, s.Account, family, revision)
}
