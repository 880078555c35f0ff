package api

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

// TestRegistrationKeepsEveryMember proves that definitionOf drops nothing
// but tags: every member of RegisterTaskDefinitionInput has a TaskDefinition
// member of the same name and type, so a model update that adds a member to
// one and not the other fails here instead of silently losing client data.
func TestRegistrationKeepsEveryMember(t *testing.T) {
	in := reflect.TypeFor[ecs.RegisterTaskDefinitionInput]()
	td := reflect.TypeFor[types.TaskDefinition]()
	for i := range in.NumField() {
		f := in.Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		g, ok := td.FieldByName(f.Name)
		if !ok {
			t.Errorf("RegisterTaskDefinitionInput.%s has no TaskDefinition member", f.Name)
			continue
		}
		if g.Type != f.Type {
			t.Errorf("%s: input type %v, TaskDefinition type %v", f.Name, f.Type, g.Type)
		}
	}
	family := "web"
	cpu := "256"
	input := &ecs.RegisterTaskDefinitionInput{
		Family:      &family,
		Cpu:         &cpu,
		NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: &family, Image: &family, Cpu: 0,
			DockerLabels: map[string]string{"a": "b"},
		}},
		Tags: []types.Tag{{Key: &family, Value: &family}},
	}
	def, err := definitionOf(input)
	if err != nil {
		t.Fatal(err)
	}
	want := types.TaskDefinition{Family: &family, Cpu: &cpu, NetworkMode: types.NetworkModeAwsvpc, ContainerDefinitions: input.ContainerDefinitions}
	ignore := cmpopts.IgnoreUnexported(types.TaskDefinition{}, types.ContainerDefinition{})
	if diff := cmp.Diff(want, def, ignore); diff != "" {
		t.Errorf("definitionOf (-want +got):\n%s", diff)
	}
}

// TestCompatDocListsEveryOperation keeps docs/compat.md honest: it names
// every operation of the ECS model (before the CloudWatch Logs section) and
// of the Logs model (in it), and marks as implemented exactly those that
// have a handler.
func TestCompatDocListsEveryOperation(t *testing.T) {
	raw, err := os.ReadFile("../../docs/compat.md")
	if err != nil {
		t.Fatal(err)
	}
	ecsDoc, logsDoc, ok := strings.Cut(string(raw), "\n## CloudWatch Logs\n")
	if !ok {
		t.Fatal("docs/compat.md has no CloudWatch Logs section")
	}
	// The Logs section ends at the next top-level section, if any.
	if i := strings.Index(logsDoc, "\n## "); i >= 0 {
		ecsDoc += logsDoc[i:]
		logsDoc = logsDoc[:i]
	}
	srv := awsjson.NewServer("000000000000", "us-east-1", nil)
	Register(srv, &control.Control{})
	RegisterLogs(srv, &control.Logs{})
	check := func(api *awsjson.API, doc string) {
		row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+)` \\| ([a-z ]+) \\|")
		documented := map[string]string{}
		for _, m := range row.FindAllStringSubmatch(doc, -1) {
			documented[m[1]] = m[2]
		}
		var names []string
		for name := range api.Operations() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			state, ok := documented[name]
			switch {
			case !ok:
				t.Errorf("docs/compat.md has no %s row for %s", api.Name, name)
			case srv.ImplementedIn(api, name) && state == "not yet":
				t.Errorf("docs/compat.md says %s is not yet implemented, but it has a handler", name)
			case !srv.ImplementedIn(api, name) && state != "not yet":
				t.Errorf("docs/compat.md says %s is %q, but it has no handler", name, state)
			}
		}
		if len(documented) != len(names) {
			t.Errorf("docs/compat.md has %d %s operation rows, the model %d", len(documented), api.Name, len(names))
		}
	}
	check(awsjson.ECS, ecsDoc)
	check(awsjson.Logs, logsDoc)
}
