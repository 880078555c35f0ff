package control_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestTags(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	register(t, c, alice, "web", 2)
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:2"); err != nil {
		t.Fatal(err)
	}
	web1 := arn(alice, "web", 1)
	tag := func(k, v string) types.Tag { return types.Tag{Key: ptr(k), Value: ptr(v)} }
	list := func(arn string) []types.Tag {
		t.Helper()
		tags, err := c.ListTagsForResource(ctx, alice, arn)
		if err != nil {
			t.Fatalf("list tags of %s: %v", arn, err)
		}
		return tags
	}

	if got := list(web1); got == nil || len(got) != 0 {
		t.Errorf("untagged revision: tags %#v, want empty list", got)
	}
	if err := c.TagResource(ctx, alice, web1, []types.Tag{tag("b", "2"), tag("a", "1")}); err != nil {
		t.Fatal(err)
	}
	if err := c.TagResource(ctx, alice, web1, []types.Tag{tag("b", "two"), tag("c", "")}); err != nil {
		t.Fatal(err)
	}
	want := []types.Tag{tag("a", "1"), tag("b", "two"), tag("c", "")}
	if diff := cmp.Diff(want, list(web1), ignoreUnexported); diff != "" {
		t.Errorf("tags after overwrite (-want +got):\n%s", diff)
	}
	if err := c.UntagResource(ctx, alice, web1, []string{"a", "not-there"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[1:], list(web1), ignoreUnexported); diff != "" {
		t.Errorf("tags after untag (-want +got):\n%s", diff)
	}
	// INACTIVE revisions can be tagged.
	if err := c.TagResource(ctx, alice, arn(alice, "web", 2), []types.Tag{tag("k", "v")}); err != nil {
		t.Errorf("tag INACTIVE revision: %v", err)
	}

	t.Run("limit counts existing tags", func(t *testing.T) {
		var tags []types.Tag
		for i := range 48 {
			tags = append(tags, tag(fmt.Sprintf("k%02d", i), "v"))
		}
		// web:1 holds b and c; 48 more is 50.
		if err := c.TagResource(ctx, alice, web1, tags); err != nil {
			t.Fatalf("tag up to 50: %v", err)
		}
		err := c.TagResource(ctx, alice, web1, []types.Tag{tag("one-more", "v")})
		wantError(t, err, "InvalidParameterException", "Tags can have at most 50 items.")
		// Overwriting an existing key adds nothing.
		if err := c.TagResource(ctx, alice, web1, []types.Tag{tag("b", "again")}); err != nil {
			t.Errorf("overwrite at the limit: %v", err)
		}
		if n := len(list(web1)); n != 50 {
			t.Errorf("%d tags, want 50", n)
		}
	})

	const (
		invalidARN = "The ARN provided is invalid."
		notFound   = "The specified resource wasn't found."
	)
	tests := []struct {
		name string
		arn  string
		code string
		msg  string
	}{
		{"not an ARN", "web:1", "InvalidParameterException", invalidARN},
		{"other service", "arn:aws:ecr:eu-west-2:123456789012:repository/web", "InvalidParameterException", invalidARN},
		{"unknown resource type", "arn:aws:ecs:eu-west-2:123456789012:widget/web", "InvalidParameterException", invalidARN},
		{"revision missing", "arn:aws:ecs:eu-west-2:123456789012:task-definition/web", "InvalidParameterException", invalidARN},
		{"bad revision", "arn:aws:ecs:eu-west-2:123456789012:task-definition/web:x", "InvalidParameterException", invalidARN},
		{"unknown revision", arn(alice, "web", 9), "ResourceNotFoundException", notFound},
		{"other region", arn(bob, "web", 1), "ResourceNotFoundException", notFound},
		{"other account", "arn:aws:ecs:eu-west-2:999999999999:task-definition/web:1", "ResourceNotFoundException", notFound},
		{"cluster", "arn:aws:ecs:eu-west-2:123456789012:cluster/default", "ResourceNotFoundException", notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.TagResource(ctx, alice, tt.arn, []types.Tag{tag("k", "v")})
			wantError(t, err, tt.code, tt.msg)
			_, err = c.ListTagsForResource(ctx, alice, tt.arn)
			wantError(t, err, tt.code, tt.msg)
			err = c.UntagResource(ctx, alice, tt.arn, []string{"k"})
			wantError(t, err, tt.code, tt.msg)
		})
	}

	t.Run("request errors", func(t *testing.T) {
		wantError(t, c.TagResource(ctx, alice, web1, nil), "ClientException", "Tags can not be empty.")
		wantError(t, c.TagResource(ctx, alice, web1, []types.Tag{}), "ClientException", "Tags can not be empty.")
		wantError(t, c.TagResource(ctx, alice, web1, []types.Tag{tag("aws:x", "v")}), "InvalidParameterException", "Tag keys with the aws: prefix are reserved for AWS use.")
		wantError(t, c.UntagResource(ctx, alice, web1, nil), "InvalidParameterException", "TagKeys can not be empty.")
	})
}
