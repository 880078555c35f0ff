package control_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
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

func TestTagsOnClustersServicesAndTasks(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	tag := func(k, v string) types.Tag { return types.Tag{Key: ptr(k), Value: ptr(v)} }
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "web", Tags: []types.Tag{tag("team", "web")}})
	clTestCreate(t, c, alice, control.CreateClusterRequest{Name: "batch"})
	const taskID = "0123456789abcdef0123456789abcdef"
	clTestPutService(t, c, alice, "web", "api", "ACTIVE", types.LaunchTypeFargate)
	clTestPutTask(t, c, alice, "web", taskID, "RUNNING", types.LaunchTypeFargate, "")
	// The same service name in another cluster makes the short ARN
	// ambiguous.
	clTestPutService(t, c, alice, "web", "shared", "ACTIVE", types.LaunchTypeFargate)
	clTestPutService(t, c, alice, "batch", "shared", "ACTIVE", types.LaunchTypeFargate)

	prefix := "arn:aws:ecs:eu-west-2:123456789012:"
	tests := []struct {
		name      string
		arn, same string // same: another spelling of the same resource
	}{
		{"cluster", prefix + "cluster/web", ""},
		{"service", prefix + "service/web/api", ""},
		{"task", prefix + "task/web/" + taskID, prefix + "task/" + taskID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.TagResource(ctx, alice, tt.arn, []types.Tag{tag("k", "v")}); err != nil {
				t.Fatalf("TagResource: %v", err)
			}
			want := []types.Tag{tag("k", "v")}
			if tt.name == "cluster" {
				want = []types.Tag{tag("k", "v"), tag("team", "web")}
			}
			for _, spelling := range []string{tt.arn, tt.same} {
				if spelling == "" {
					continue
				}
				got, err := c.ListTagsForResource(ctx, alice, spelling)
				if err != nil {
					t.Fatalf("ListTagsForResource(%s): %v", spelling, err)
				}
				if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
					t.Errorf("tags of %s (-want +got):\n%s", spelling, diff)
				}
			}
			last := tt.arn
			if tt.same != "" {
				last = tt.same
			}
			if err := c.UntagResource(ctx, alice, last, []string{"k"}); err != nil {
				t.Fatalf("UntagResource(%s): %v", last, err)
			}
			if got, _ := c.ListTagsForResource(ctx, alice, tt.arn); len(got) != len(want)-1 {
				t.Errorf("after untag: %v", got)
			}
		})
	}
	if d := clTestDescribe(t, c, alice, "web", types.ClusterFieldTags); !cmp.Equal([]types.Tag{tag("team", "web")}, d.Tags, ignoreUnexported) {
		t.Errorf("DescribeClusters TAGS = %v", d.Tags)
	}

	const notFound = "The specified resource wasn't found."
	missing := []string{
		prefix + "cluster/nope",
		prefix + "service/web/nope",
		prefix + "task/web/ffffffffffffffffffffffffffffffff",
		prefix + "task/batch/" + taskID, // the task is in web
		"arn:aws:ecs:us-east-1:123456789012:cluster/web",
		"arn:aws:ecs:eu-west-2:999999999999:service/web/api",
	}
	for _, a := range missing {
		t.Run(a, func(t *testing.T) {
			wantError(t, c.TagResource(ctx, alice, a, []types.Tag{tag("k", "v")}), "ResourceNotFoundException", notFound)
			_, err := c.ListTagsForResource(ctx, alice, a)
			wantError(t, err, "ResourceNotFoundException", notFound)
		})
	}
	// ECS tags services only by their long ARN, whether or not the short
	// one would name a single service.
	for _, a := range []string{prefix + "service/api", prefix + "service/shared", prefix + "service/nope", "arn:aws:ecs:eu-west-2::service/api"} {
		t.Run(a, func(t *testing.T) {
			wantError(t, c.TagResource(ctx, alice, a, []types.Tag{tag("k", "v")}), "InvalidParameterException", ecs.MsgTagLongArnRequired)
			wantError(t, c.UntagResource(ctx, alice, a, []string{"k"}), "InvalidParameterException", ecs.MsgTagLongArnRequired)
			_, err := c.ListTagsForResource(ctx, alice, a)
			wantError(t, err, "InvalidParameterException", ecs.MsgTagLongArnRequired)
		})
	}
	wantError(t, c.TagResource(ctx, alice, prefix+"service/a/b/c", []types.Tag{tag("k", "v")}), "InvalidParameterException", "The ARN provided is invalid.")

	// An INACTIVE cluster is refused with ECS's own message.
	if _, err := c.DeleteCluster(ctx, alice, "batch"); err == nil {
		t.Fatal("DeleteCluster(batch) with an ACTIVE service succeeded")
	}
	clTestPutService(t, c, alice, "batch", "shared", "INACTIVE", types.LaunchTypeFargate)
	if _, err := c.DeleteCluster(ctx, alice, "batch"); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.TagResource(ctx, alice, prefix+"cluster/batch", []types.Tag{tag("k", "v")}), "InvalidParameterException", ecs.MsgTagInactiveCluster)
	wantError(t, c.UntagResource(ctx, alice, prefix+"cluster/batch", []string{"k"}), "InvalidParameterException", ecs.MsgTagInactiveCluster)
}
