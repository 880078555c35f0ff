package placement

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
)

func ps(typ types.PlacementStrategyType, field string) types.PlacementStrategy {
	p := types.PlacementStrategy{Type: typ}
	if field != "" {
		p.Field = str(field)
	}
	return p
}

func TestStrategies(t *testing.T) {
	got, err := Strategies([]types.PlacementStrategy{
		ps("spread", "attribute:ecs.availability-zone"),
		ps("spread", "host"),
		ps("spread", "instanceId"),
		ps("binpack", "MEMORY"),
		ps("random", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Strategy{
		{Type: "spread", Field: "attribute:ecs.availability-zone"},
		{Type: "spread", Field: FieldInstanceID},
		{Type: "spread", Field: FieldInstanceID},
		{Type: "binpack", Field: FieldMemory},
		{Type: "random"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if a := got[0].Attribute(); a != AttrAvailabilityZone {
		t.Errorf("Attribute() = %q", a)
	}
	for name, bad := range map[string][]types.PlacementStrategy{
		"six rules":         {ps("random", ""), ps("random", ""), ps("random", ""), ps("random", ""), ps("random", ""), ps("random", "")},
		"binpack on ports":  {ps("binpack", "ports")},
		"spread on nothing": {ps("spread", "")},
		"spread bare name":  {ps("spread", "ecs.availability-zone")},
		"unknown type":      {ps("pack", "cpu")},
	} {
		var e *ecs.Error
		if _, err := Strategies(bad); !errors.As(err, &e) || e.Code != "InvalidParameterException" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMergeConstraints(t *testing.T) {
	td := []types.TaskDefinitionPlacementConstraint{{Type: "memberOf", Expression: str("attribute:ecs.os-type == linux")}}
	req := []types.PlacementConstraint{{Type: "distinctInstance"}, {Type: "memberOf", Expression: str("attribute:ecs.availability-zone in [us-east-1a]")}}
	got, err := MergeConstraints(td, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || deref(got[0].Expression) != "attribute:ecs.os-type == linux" || got[1].Type != "distinctInstance" {
		t.Errorf("merged %+v", got)
	}
	var seen []string
	compiled, err := CompileConstraints(got, func(expr string) (Predicate, error) {
		seen = append(seen, expr)
		return PredicateFunc(func(*Instance) bool { return true }), nil
	})
	if err != nil || len(compiled) != 3 || compiled[1].Type != types.PlacementConstraintTypeDistinctInstance || compiled[2].Predicate == nil {
		t.Errorf("compiled %+v, %v", compiled, err)
	}
	if diff := cmp.Diff([]string{"attribute:ecs.os-type == linux", "attribute:ecs.availability-zone in [us-east-1a]"}, seen); diff != "" {
		t.Errorf("compiled expressions: %s", diff)
	}
	bad := errors.New("bad expression")
	if _, err := CompileConstraints(got, func(string) (Predicate, error) { return nil, bad }); err != bad {
		t.Errorf("compile error %v", err)
	}

	eleven := make([]types.PlacementConstraint, 10)
	for i := range eleven {
		eleven[i] = types.PlacementConstraint{Type: "distinctInstance"}
	}
	for name, c := range map[string]struct {
		td  []types.TaskDefinitionPlacementConstraint
		req []types.PlacementConstraint
	}{
		"ten plus the task definition's":      {td, eleven},
		"distinctInstance with an expression": {nil, []types.PlacementConstraint{{Type: "distinctInstance", Expression: str("x")}}},
		"memberOf without one":                {nil, []types.PlacementConstraint{{Type: "memberOf"}}},
		"expression too long":                 {nil, []types.PlacementConstraint{{Type: "memberOf", Expression: str(strings.Repeat("a", 2001))}}},
		"unknown type":                        {nil, []types.PlacementConstraint{{Type: "near"}}},
	} {
		var e *ecs.Error
		if _, err := MergeConstraints(c.td, c.req); !errors.As(err, &e) || e.Code != "InvalidParameterException" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := MergeConstraints(nil, eleven); err != nil {
		t.Errorf("ten constraints refused: %v", err)
	}
}
