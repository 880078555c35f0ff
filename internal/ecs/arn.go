package ecs

import (
	"strconv"
	"strings"
)

// Partition returns the AWS partition a region belongs to, which is the
// second field of every ARN in it.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	}
	return "aws"
}

// TaskDefinitionARN returns the ARN of one task-definition revision.
func TaskDefinitionARN(region, account, family string, revision int) string {
	return "arn:" + Partition(region) + ":ecs:" + region + ":" + account + ":task-definition/" + family + ":" + strconv.Itoa(revision)
}

// RootARN is the principal ARN of an account's root user in a region's
// partition, which ecsd records as the caller (it has no IAM).
func RootARN(region, account string) string {
	return "arn:" + Partition(region) + ":iam::" + account + ":root"
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

// OwnAccount reports whether the account field of an ECS ARN names the
// caller's account. An empty field does: the Terraform AWS provider with
// skip_requesting_account_id = true builds ARNs such as
// arn:aws:ecs:us-east-1::cluster/NAME, and ecsd takes them as the caller's
// (AWS itself is not known to accept them; see docs/compat.md).
func OwnAccount(arnAccount, caller string) bool {
	return arnAccount == "" || arnAccount == caller
}
