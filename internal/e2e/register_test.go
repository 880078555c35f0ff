package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRegisterRevisionsAndComputedFields(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	before := time.Now().Truncate(time.Millisecond)
	for want := 1; want <= 3; want++ {
		td := register(t, c, "web")
		if td.Revision != int32(want) {
			t.Fatalf("revision = %d, want %d", td.Revision, want)
		}
		if got, want := aws.ToString(td.TaskDefinitionArn), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:"+fmt.Sprint(want); got != want {
			t.Errorf("taskDefinitionArn = %q, want %q", got, want)
		}
		if td.Status != types.TaskDefinitionStatusActive {
			t.Errorf("status = %q, want ACTIVE", td.Status)
		}
		if td.RegisteredAt == nil || td.RegisteredAt.Before(before) || td.RegisteredAt.After(time.Now().Add(time.Second)) {
			t.Errorf("registeredAt = %v, want between %v and now", td.RegisteredAt, before)
		}
		if got := aws.ToString(td.RegisteredBy); got != "arn:aws:iam::000000000000:root" {
			t.Errorf("registeredBy = %q", got)
		}
		if diff := cmp.Diff([]types.Compatibility{"EXTERNAL", "EC2"}, td.Compatibilities); diff != "" {
			t.Errorf("compatibilities (-want +got):\n%s", diff)
		}
		if td.RequiresCompatibilities != nil {
			t.Errorf("requiresCompatibilities = %v, want omitted when not sent", td.RequiresCompatibilities)
		}
		if !hasAttribute(td, "com.amazonaws.ecs.capability.docker-remote-api.1.18") {
			t.Errorf("requiresAttributes = %v, want docker-remote-api.1.18", attrNames(td))
		}
		if hasAttribute(td, "ecs.capability.task-eni") {
			t.Errorf("requiresAttributes = %v: task-eni without awsvpc", attrNames(td))
		}
	}

	t.Run("fargate", func(t *testing.T) {
		out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family:                  aws.String("fargate"),
			NetworkMode:             types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("256"),
			Memory:                  aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("nginx"),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		td := out.TaskDefinition
		if diff := cmp.Diff([]types.Compatibility{"EC2", "FARGATE"}, td.Compatibilities); diff != "" {
			t.Errorf("compatibilities (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]types.Compatibility{"FARGATE"}, td.RequiresCompatibilities); diff != "" {
			t.Errorf("requiresCompatibilities (-want +got):\n%s", diff)
		}
		if !hasAttribute(*td, "ecs.capability.task-eni") {
			t.Errorf("requiresAttributes = %v, want ecs.capability.task-eni", attrNames(*td))
		}
		// awsvpc maps the host port to the container port; tcp is the default.
		want := []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80), Protocol: types.TransportProtocolTcp}}
		if diff := cmp.Diff(want, td.ContainerDefinitions[0].PortMappings, cmpopts.IgnoreUnexported(types.PortMapping{})); diff != "" {
			t.Errorf("portMappings (-want +got):\n%s", diff)
		}
	})

	t.Run("vCPU and GB units are normalised", func(t *testing.T) {
		out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family:                  aws.String("units"),
			NetworkMode:             types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("1 vCPU"),
			Memory:                  aws.String("2 GB"),
			ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]string{aws.ToString(out.TaskDefinition.Cpu), aws.ToString(out.TaskDefinition.Memory)}; got != [2]string{"1024", "2048"} {
			t.Errorf("cpu, memory = %q, want 1024, 2048", got)
		}
	})

	t.Run("tags are echoed only when sent", func(t *testing.T) {
		out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("tagged"),
			ContainerDefinitions: []types.ContainerDefinition{container("app")},
			Tags:                 []types.Tag{tag("team", "core"), tag("env", "")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]types.Tag{tag("team", "core"), tag("env", "")}, out.Tags, cmpopts.IgnoreUnexported(types.Tag{})); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		// The SDK reads an absent list and an empty one alike; the wire
		// tells them apart.
		untagged := s.postOK(t, "RegisterTaskDefinition", `{"family":"tagged","containerDefinitions":[{"name":"app","image":"busybox","memory":128}]}`)
		if v, ok := untagged["tags"]; ok {
			t.Errorf("response without tags in the request has tags = %v", v)
		}
	})
}

// TestRegisterDefaultsOnTheWire checks the exact JSON ECS returns for a
// minimal registration: the defaults (cpu 0, essential true, empty lists)
// that the SDK cannot tell from absent members.
func TestRegisterDefaultsOnTheWire(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	got := s.postOK(t, "RegisterTaskDefinition", `{"family":"minimal","containerDefinitions":[{"name":"app","image":"busybox","memory":128}]}`)

	td, ok := got["taskDefinition"].(map[string]any)
	if !ok {
		t.Fatalf("no taskDefinition in %v", got)
	}
	if _, ok := td["registeredAt"].(interface{ Float64() (float64, error) }); !ok {
		t.Errorf("registeredAt = %#v, want epoch seconds", td["registeredAt"])
	}
	delete(td, "registeredAt")
	want := map[string]any{
		"taskDefinition": map[string]any{
			"taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/minimal:1",
			"family":            "minimal",
			"revision":          num(1),
			"status":            "ACTIVE",
			"registeredBy":      "arn:aws:iam::000000000000:root",
			"containerDefinitions": []any{map[string]any{
				"name":           "app",
				"image":          "busybox",
				"cpu":            num(0),
				"memory":         num(128),
				"portMappings":   []any{},
				"essential":      true,
				"environment":    []any{},
				"mountPoints":    []any{},
				"volumesFrom":    []any{},
				"systemControls": []any{},
			}},
			"volumes":              []any{},
			"placementConstraints": []any{},
			"compatibilities":      []any{"EXTERNAL", "EC2"},
			"requiresAttributes":   []any{map[string]any{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RegisterTaskDefinition response (-want +got):\n%s", diff)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	valid := func(mod func(in *ecs.RegisterTaskDefinitionInput)) *ecs.RegisterTaskDefinitionInput {
		in := &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("valid"),
			ContainerDefinitions: []types.ContainerDefinition{container("app")},
		}
		mod(in)
		return in
	}
	fargate := func(cpu, mem string) func(in *ecs.RegisterTaskDefinitionInput) {
		return func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
			in.NetworkMode = types.NetworkModeAwsvpc
			in.Cpu, in.Memory = aws.String(cpu), aws.String(mem)
		}
	}
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = tag(fmt.Sprintf("k%d", i), "v")
	}

	tests := []struct {
		name     string
		in       *ecs.RegisterTaskDefinitionInput
		wantCode string
		wantMsg  string
	}{
		{"blank family", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("") }),
			"ClientException", "Family can not be blank."},
		{"invalid family characters", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("my app!") }),
			"ClientException", "Family contains invalid characters."},
		{"family with a colon", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("app:1") }),
			"ClientException", "Family contains invalid characters."},
		{"empty container list", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions = []types.ContainerDefinition{} }),
			"ClientException", "Container list cannot be empty."},
		{"container without image", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Image = nil
		}), "ClientException", "Container.image should not be null or empty."},
		{"container without name", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Name = nil
		}), "ClientException", "Container.name should not be null or empty."},
		{"duplicate container names", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("app"))
		}), "ClientException", "Container names must be unique within a Task Definition."},
		{"no memory anywhere", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory = nil
		}), "ClientException", "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"fargate without awsvpc", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			fargate("256", "512")(in)
			in.NetworkMode = types.NetworkModeBridge
		}), "ClientException", "Fargate only supports network mode \u2018awsvpc\u2019."},
		{"fargate cpu/memory combination", valid(fargate("1024", "1024")),
			"ClientException", "No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
		{"fargate without task cpu", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			fargate("256", "512")(in)
			in.Cpu = nil
		}), "ClientException", "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate with ipcMode", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			fargate("256", "512")(in)
			in.IpcMode = types.IpcModeHost
		}), "ClientException", "Tasks using the Fargate launch type do not support ipcMode."},
		{"fargate with pidMode host", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			fargate("256", "512")(in)
			in.PidMode = types.PidModeHost
		}), "ClientException", "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."},
		{"fargate awslogs without execution role", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			fargate("256", "512")(in)
			in.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{
				LogDriver: types.LogDriverAwslogs,
				Options:   map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "p"},
			}
		}), "ClientException", "Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		{"empty tag list", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Tags = []types.Tag{} }),
			"ClientException", "Tags can not be empty."},
		{"aws: tag prefix", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Tags = []types.Tag{tag("aws:owner", "me")} }),
			"InvalidParameterException", "Tag keys with the aws: prefix are reserved for AWS use."},
		{"more than 50 tags", valid(func(in *ecs.RegisterTaskDefinitionInput) { in.Tags = manyTags }),
			"InvalidParameterException", "Tags can have at most 50 items."},
		{"definition over 64 KiB", valid(func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Command = []string{strings.Repeat("x", 70_000)}
		}), "ClientException", ""}, // message checked below: it carries the measured length
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RegisterTaskDefinition(t.Context(), tt.in)
			switch tt.wantCode {
			case "ClientException":
				e := &types.ClientException{}
				if tt.wantMsg == "" {
					if !errors.As(err, &e) {
						t.Fatalf("error = %v, want ClientException", err)
					}
					if msg := e.ErrorMessage(); !strings.HasPrefix(msg, "Actual length: '") || !strings.HasSuffix(msg, "'. Max allowed length is '65536' bytes.") {
						t.Fatalf("message = %q", msg)
					}
					return
				}
				wantAPIError[*types.ClientException](t, err, tt.wantMsg)
			case "InvalidParameterException":
				wantAPIError[*types.InvalidParameterException](t, err, tt.wantMsg)
			default:
				t.Fatalf("bad test: code %s", tt.wantCode)
			}
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultClient {
				t.Errorf("fault = %v, want client", apiErr.ErrorFault())
			}
		})
	}

	// No failed registration consumed a revision or created a family.
	if fams := families(t, c, ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll}); len(fams) != 0 {
		t.Errorf("families after failed registrations = %v, want none", fams)
	}
	if td := register(t, c, "valid"); td.Revision != 1 {
		t.Errorf("first successful revision = %d, want 1", td.Revision)
	}
}

func hasAttribute(td types.TaskDefinition, name string) bool {
	for _, a := range td.RequiresAttributes {
		if aws.ToString(a.Name) == name {
			return true
		}
	}
	return false
}

func attrNames(td types.TaskDefinition) []string {
	var out []string
	for _, a := range td.RequiresAttributes {
		out = append(out, aws.ToString(a.Name))
	}
	return out
}

// num is a JSON number as decodeJSON reads it.
func num(n int) json.Number { return json.Number(fmt.Sprint(n)) }

// TestEmptyListsOnTheWire: ECS answers an empty result with an empty list,
// never by leaving the member out (the AWS CLI prints "None" otherwise).
func TestEmptyListsOnTheWire(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.postOK(t, "RegisterTaskDefinition", `{"family":"untagged","containerDefinitions":[{"name":"app","image":"busybox","memory":128}]}`)
	tests := []struct {
		op, body string
		want     map[string]any
	}{
		{"ListTaskDefinitions", `{"familyPrefix":"nope"}`, map[string]any{"taskDefinitionArns": []any{}}},
		{"ListTaskDefinitions", `{"status":"INACTIVE"}`, map[string]any{"taskDefinitionArns": []any{}}},
		{"ListTaskDefinitionFamilies", `{"familyPrefix":"nope"}`, map[string]any{"families": []any{}}},
		{"ListTaskDefinitionFamilies", `{"status":"INACTIVE"}`, map[string]any{"families": []any{}}},
		{"ListTagsForResource", `{"resourceArn":"` + tdARN("untagged", 1) + `"}`, map[string]any{"tags": []any{}}},
		{"DeleteTaskDefinitions", `{"taskDefinitions":["untagged"]}`, map[string]any{
			"taskDefinitions": []any{},
			"failures": []any{map[string]any{"arn": "untagged",
				"reason": "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.op+" "+tt.body, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, s.postOK(t, tt.op, tt.body)); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tt.op, tt.body, diff)
			}
		})
	}
}

// An EFS volume registered without rootDirectory is answered, and described
// later, with "/" as ECS does (terraform-provider-aws#26793).
func TestRegisterEFSRootDirectoryDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	ctx := context.Background()
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("efs"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(128)}},
		Volumes:              []types.Volume{{Name: aws.String("data"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: aws.String("fs-12345678")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("efs:1")})
	if err != nil {
		t.Fatal(err)
	}
	for name, td := range map[string]*types.TaskDefinition{"RegisterTaskDefinition": out.TaskDefinition, "DescribeTaskDefinition": desc.TaskDefinition} {
		if len(td.Volumes) != 1 || td.Volumes[0].EfsVolumeConfiguration == nil {
			t.Fatalf("%s volumes = %+v", name, td.Volumes)
		}
		if got := aws.ToString(td.Volumes[0].EfsVolumeConfiguration.RootDirectory); got != "/" {
			t.Errorf("%s rootDirectory = %q, want \"/\"", name, got)
		}
	}
}
