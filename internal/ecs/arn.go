package ecs

import (
	"strconv"
	"strings"
)

// TaskDefinitionARN returns the ARN of one task-definition revision.
func TaskDefinitionARN(region, account, family string, revision int) string {
	return "arn:aws:ecs:" + region + ":" + account + ":task-definition/" + family + ":" + strconv.Itoa(revision)
}

// TaskDefinitionRef is a parsed task-definition identifier as ECS accepts
// it: "family", "family:revision" or a full revision ARN.
type TaskDefinitionRef struct {
	Family string
	// Revision is 0 when none was given.
	Revision int
	// RawRevision is the text after the colon, kept for error messages.
	RawRevision string
	HasRevision bool
	// Region and Account are set when the identifier was an ARN.
	Region, Account string
	IsARN           bool
}

// RevisionError is a revision that is not a positive number.
type RevisionError struct{ Raw string }

func (e *RevisionError) Error() string { return "Invalid revision number. Number: " + e.Raw }

// ParseTaskDefinitionRef splits an identifier. It fails only on a revision
// that is not a number; whether the family is valid or exists is for the
// caller to decide, because ECS words those cases differently per
// operation.
func ParseTaskDefinitionRef(s string) (TaskDefinitionRef, error) {
	var ref TaskDefinitionRef
	rest := s
	if strings.HasPrefix(s, "arn:") {
		// arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || parts[2] != "ecs" {
			return TaskDefinitionRef{Family: s}, nil // an invalid family; callers report not found
		}
		res, ok := strings.CutPrefix(parts[5], "task-definition/")
		if !ok {
			return TaskDefinitionRef{Family: s}, nil
		}
		ref.IsARN, ref.Region, ref.Account = true, parts[3], parts[4]
		rest = res
	}
	family, rev, hasRev := strings.Cut(rest, ":")
	ref.Family = family
	if !hasRev {
		return ref, nil
	}
	ref.HasRevision, ref.RawRevision = true, rev
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || strings.HasPrefix(rev, "+") {
		return ref, &RevisionError{Raw: rev}
	}
	ref.Revision = n
	return ref, nil
}

// ValidFamily reports whether s is a family name ECS accepts: 1 to 255
// letters, numbers, hyphens and underscores.
func ValidFamily(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
