package ecs_test

import (
	"errors"
	"fmt"
	"go/token"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
)

// ignoreUnexported skips the unexported markers the SDK embeds in every
// model struct, so cmp compares only what reaches the wire.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

func TestTaskDefinitionARN(t *testing.T) {
	got := ecs.TaskDefinitionARN("eu-west-2", "123456789012", "web", 12)
	if want := "arn:aws:ecs:eu-west-2:123456789012:task-definition/web:12"; got != want {
		t.Errorf("TaskDefinitionARN = %q, want %q", got, want)
	}
}

func TestParseTaskDefinitionRef(t *testing.T) {
	const arnPrefix = "arn:aws:ecs:eu-west-1:123456789012:"
	tests := []struct {
		in      string
		want    ecs.TaskDefinitionRef
		wantErr string // RevisionError text; "" for success
	}{
		{in: "web", want: ecs.TaskDefinitionRef{Family: "web"}},
		{in: "", want: ecs.TaskDefinitionRef{}},
		{in: "web:3", want: ecs.TaskDefinitionRef{Family: "web", Revision: 3, RawRevision: "3", HasRevision: true}},
		{in: "web:1000000", want: ecs.TaskDefinitionRef{Family: "web", Revision: 1000000, RawRevision: "1000000", HasRevision: true}},
		{
			in: arnPrefix + "task-definition/web:7",
			want: ecs.TaskDefinitionRef{Family: "web", Revision: 7, RawRevision: "7", HasRevision: true,
				Region: "eu-west-1", Account: "123456789012", IsARN: true},
		},
		{
			in: "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/web:2",
			want: ecs.TaskDefinitionRef{Family: "web", Revision: 2, RawRevision: "2", HasRevision: true,
				Region: "cn-north-1", Account: "123456789012", IsARN: true},
		},
		{
			in:   arnPrefix + "task-definition/web",
			want: ecs.TaskDefinitionRef{Family: "web", Region: "eu-west-1", Account: "123456789012", IsARN: true},
		},
		// Not a task-definition ARN: the whole string comes back as a family
		// that ValidFamily refuses, so callers answer "not found".
		{in: arnPrefix + "cluster/web", want: ecs.TaskDefinitionRef{Family: arnPrefix + "cluster/web"}},
		{in: arnPrefix + "service/default/web", want: ecs.TaskDefinitionRef{Family: arnPrefix + "service/default/web"}},
		{in: "arn:aws:iam::123456789012:role/web", want: ecs.TaskDefinitionRef{Family: "arn:aws:iam::123456789012:role/web"}},
		{in: "arn:aws:ecs:eu-west-1", want: ecs.TaskDefinitionRef{Family: "arn:aws:ecs:eu-west-1"}},
		// Revisions that are not positive numbers.
		{in: "web:foo", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "foo", HasRevision: true}, wantErr: "Invalid revision number. Number: foo"},
		{in: "web:0", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "0", HasRevision: true}, wantErr: "Invalid revision number. Number: 0"},
		{in: "web:-1", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "-1", HasRevision: true}, wantErr: "Invalid revision number. Number: -1"},
		{in: "web:+3", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "+3", HasRevision: true}, wantErr: "Invalid revision number. Number: +3"},
		{in: "web:", want: ecs.TaskDefinitionRef{Family: "web", HasRevision: true}, wantErr: "Invalid revision number. Number: "},
		{in: "web:1.5", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "1.5", HasRevision: true}, wantErr: "Invalid revision number. Number: 1.5"},
		{in: "web:1:2", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "1:2", HasRevision: true}, wantErr: "Invalid revision number. Number: 1:2"},
		{in: "web:99999999999999999999", want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "99999999999999999999", HasRevision: true}, wantErr: "Invalid revision number. Number: 99999999999999999999"},
		{
			in: arnPrefix + "task-definition/web:foo",
			want: ecs.TaskDefinitionRef{Family: "web", RawRevision: "foo", HasRevision: true,
				Region: "eu-west-1", Account: "123456789012", IsARN: true},
			wantErr: "Invalid revision number. Number: foo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ecs.ParseTaskDefinitionRef(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ref (-want +got):\n%s", diff)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var revErr *ecs.RevisionError
			if !errors.As(err, &revErr) {
				t.Fatalf("err = %v (%T), want *ecs.RevisionError", err, err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("err = %q, want %q", err.Error(), tt.wantErr)
			}
		})
	}
}

func TestValidFamily(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"web", true},
		{"Web-app_01", true},
		{"-", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{"", false},
		{"web app", false},
		{"web.app", false},
		{"web:1", false},
		{"web/app", false},
		{"caf\u00e9", false},
		{"web\n", false},
		{"arn:aws:ecs:eu-west-1:123456789012:task-definition/web", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q/len%d", tt.in, len(tt.in)), func(t *testing.T) {
			if got := ecs.ValidFamily(tt.in); got != tt.want {
				t.Errorf("ValidFamily(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAsError(t *testing.T) {
	clientErr := ecs.ClientException("Container list cannot be empty.")
	goErr := errors.New("disk full at /var/lib/ecsd")
	tests := []struct {
		name      string
		in        error
		wantCode  string
		wantMsg   string
		wantFault bool
		wantCause error
	}{
		{"domain error", clientErr, "ClientException", "Container list cannot be empty.", false, nil},
		{"wrapped domain error", fmt.Errorf("register: %w", clientErr), "ClientException", "Container list cannot be empty.", false, nil},
		{"plain Go error", goErr, "ServerException", "Server exception.", true, goErr},
		{"formatted", ecs.InvalidParameterException("Tags can have at most %d items.", 50), "InvalidParameterException", "Tags can have at most 50 items.", false, nil},
		{"cluster", ecs.ClusterNotFoundException(), "ClusterNotFoundException", "Cluster not found.", false, nil},
		{"service", ecs.ServiceNotFoundException(), "ServiceNotFoundException", "Service not found.", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ecs.AsError(tt.in)
			if e.Code != tt.wantCode || e.Message != tt.wantMsg || e.Fault != tt.wantFault {
				t.Errorf("AsError = {%q, %q, fault %v}, want {%q, %q, fault %v}",
					e.Code, e.Message, e.Fault, tt.wantCode, tt.wantMsg, tt.wantFault)
			}
			if !errors.Is(e, tt.wantCause) && tt.wantCause != nil {
				t.Errorf("AsError(%v) does not wrap its cause", tt.in)
			}
			if strings.Contains(e.Message, "disk full") {
				t.Errorf("client message %q leaks the Go error", e.Message)
			}
		})
	}
}
