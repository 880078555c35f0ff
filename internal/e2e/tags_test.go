package e2e

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTagsOnTaskDefinitions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	arn := aws.ToString(register(t, c, "tagged", tag("a", "1")).TaskDefinitionArn)
	untaggedARN := aws.ToString(register(t, c, "tagged").TaskDefinitionArn)

	byKey := cmpopts.SortSlices(func(a, b types.Tag) bool { return *a.Key < *b.Key })
	listTags := func(t *testing.T, arn string) []types.Tag {
		t.Helper()
		out, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource(%s): %v", arn, err)
		}
		return out.Tags
	}
	wantTags := func(t *testing.T, arn string, want ...types.Tag) {
		t.Helper()
		if diff := cmp.Diff(want, listTags(t, arn), append(sdkOpts, byKey, cmpopts.EquateEmpty())...); diff != "" {
			t.Errorf("tags of %s (-want +got):\n%s", arn, diff)
		}
		out, err := describe(t.Context(), c, arn, types.TaskDefinitionFieldTags)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, out.Tags, append(sdkOpts, byKey, cmpopts.EquateEmpty())...); diff != "" {
			t.Errorf("described tags of %s (-want +got):\n%s", arn, diff)
		}
	}

	wantTags(t, arn, tag("a", "1"))
	wantTags(t, untaggedARN)

	if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{tag("a", "overwritten"), tag("b", "2")}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	wantTags(t, arn, tag("a", "overwritten"), tag("b", "2"))
	wantTags(t, untaggedARN) // tags belong to one revision, not the family

	if _, err := c.UntagResource(t.Context(), &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a", "never-set"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	wantTags(t, arn, tag("b", "2"))

	t.Run("INACTIVE revisions keep and take tags", func(t *testing.T) {
		deregister(t, c, "tagged:1")
		if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{tag("c", "3")}}); err != nil {
			t.Fatalf("TagResource on INACTIVE: %v", err)
		}
		wantTags(t, arn, tag("b", "2"), tag("c", "3"))
	})

	t.Run("at most 50 tags in all", func(t *testing.T) {
		many := make([]types.Tag, 49)
		for i := range many {
			many[i] = tag(fmt.Sprintf("k%02d", i), "v")
		}
		_, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(untaggedARN), Tags: many})
		if err != nil {
			t.Fatalf("49 tags: %v", err)
		}
		_, err = c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(untaggedARN), Tags: []types.Tag{tag("one", "more"), tag("two", "more")}})
		wantAPIError[*types.InvalidParameterException](t, err, "Tags can have at most 50 items.")
		if got := listTags(t, untaggedARN); len(got) != 49 {
			t.Errorf("%d tags after the refused call, want 49", len(got))
		}
		// Overwriting an existing key does not count twice.
		if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(untaggedARN), Tags: []types.Tag{tag("k00", "new"), tag("fifty", "ok")}}); err != nil {
			t.Fatalf("50th tag: %v", err)
		}
	})

	errs := []struct {
		name     string
		arn      string
		notFound bool
	}{
		{"unknown revision", tdARN("tagged", 99), true},
		{"unknown family", tdARN("nope", 1), true},
		{"another region", arnIn("eu-west-1", defaultAccount, "tagged", 1), true},
		{"another account", arnIn(defaultRegion, "111111111111", "tagged", 1), true},
		{"not an ARN", "tagged:1", false},
		{"garbage", "arn:aws:nothing", false},
		{"ARN without a revision", "arn:aws:ecs:us-east-1:000000000000:task-definition/tagged", false},
		{"unknown resource type", "arn:aws:ecs:us-east-1:000000000000:widget/x", false},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			check := func(op string, call func() error) {
				t.Run(op, func(t *testing.T) {
					if tt.notFound {
						wantAPIError[*types.ResourceNotFoundException](t, call(), "The specified resource wasn't found.")
					} else {
						wantAPIError[*types.InvalidParameterException](t, call(), "The ARN provided is invalid.")
					}
				})
			}
			check("ListTagsForResource", func() error {
				_, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tt.arn)})
				return err
			})
			check("TagResource", func() error {
				_, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(tt.arn), Tags: []types.Tag{tag("k", "v")}})
				return err
			})
			check("UntagResource", func() error {
				_, err := c.UntagResource(t.Context(), &ecs.UntagResourceInput{ResourceArn: aws.String(tt.arn), TagKeys: []string{"k"}})
				return err
			})
		})
	}

	t.Run("invalid tags", func(t *testing.T) {
		_, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{tag("aws:x", "y")}})
		wantAPIError[*types.InvalidParameterException](t, err, "Tag keys with the aws: prefix are reserved for AWS use.")
		_, err = c.UntagResource(t.Context(), &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{}})
		wantAPIError[*types.InvalidParameterException](t, err, "TagKeys can not be empty.")
	})
}

// ECS tags services only by their long ARN (cluster in the ARN); the short
// format is refused by all three tagging operations (kayac/ecspresso#297).
func TestTagsShortServiceARN(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	arn := "arn:aws:ecs:us-east-1:000000000000:service/web"
	const msg = "Long arn format must be used for tagging operations"
	_, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantAPIError[*types.InvalidParameterException](t, err, msg)
	_, err = c.UntagResource(t.Context(), &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"k"}})
	wantAPIError[*types.InvalidParameterException](t, err, msg)
	_, err = c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	wantAPIError[*types.InvalidParameterException](t, err, msg)
}
