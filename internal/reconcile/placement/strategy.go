package placement

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// ECS's limits on placement rules: "You can specify a maximum of 5 strategy
// rules for each task" and "up to 10 constraints for each task (including
// constraints in the task definition and those specified at runtime)"
// [V API reference, RunTask and CreateService]; "The expression can have a
// maximum length of 2000 characters" [V API reference,
// PlacementConstraint].
const (
	MaxStrategies          = 5
	MaxConstraints         = 10
	MaxConstraintExprChars = 2000
)

// Strategy fields after normalisation.
const (
	FieldCPU        = "cpu"
	FieldMemory     = "memory"
	FieldInstanceID = "instanceId"
	// attributePrefix starts a spread field naming an instance attribute.
	attributePrefix = "attribute:"
)

// Strategy is one placement strategy rule. Field is normalised: "cpu" or
// "memory" for binpack, "instanceId" (also for "host", which "has the same
// effect") or "attribute:NAME" for spread, "" for random.
type Strategy struct {
	Type  types.PlacementStrategyType
	Field string
}

// Attribute returns the attribute a spread strategy spreads over ("" for
// instanceId and for other strategies).
func (s Strategy) Attribute() string {
	a, _ := strings.CutPrefix(s.Field, attributePrefix)
	if a == s.Field {
		return ""
	}
	return a
}

// ServiceDefaultStrategies is what a service on EC2 uses when it names no
// strategy: "For tasks running as part of an Amazon ECS service, the task
// placement strategy is spread using the attribute:ecs.availability-zone"
// [V developer guide, task placement strategies], then, within a zone, "favoring
// container instances with the fewest number of running tasks for this
// service" [V developer guide, "Amazon ECS services", replica scheduling] —
// a spread over instanceId. Standalone tasks have no default strategy.
func ServiceDefaultStrategies() []Strategy {
	return []Strategy{
		{Type: types.PlacementStrategyTypeSpread, Field: attributePrefix + AttrAvailabilityZone},
		{Type: types.PlacementStrategyTypeSpread, Field: FieldInstanceID},
	}
}

// Strategies validates and normalises the placement strategy of a RunTask,
// CreateService or UpdateService request. The messages are ecsd's; ECS's
// own wording for these refusals is not recorded [I].
func Strategies(list []types.PlacementStrategy) ([]Strategy, error) {
	if len(list) > MaxStrategies {
		return nil, ecs.InvalidParameterException("The number of placement strategies must be %d or fewer.", MaxStrategies)
	}
	out := make([]Strategy, 0, len(list))
	for _, p := range list {
		field := strings.TrimSpace(deref(p.Field))
		switch p.Type {
		case types.PlacementStrategyTypeRandom:
			out = append(out, Strategy{Type: p.Type})
		case types.PlacementStrategyTypeBinpack:
			f := strings.ToLower(field)
			if f != FieldCPU && f != FieldMemory {
				return nil, ecs.InvalidParameterException("Invalid placement strategy field '%s' for type binpack. Valid fields are cpu and memory.", field)
			}
			out = append(out, Strategy{Type: p.Type, Field: f})
		case types.PlacementStrategyTypeSpread:
			switch f := strings.ToLower(field); {
			case f == "instanceid" || f == "host":
				out = append(out, Strategy{Type: p.Type, Field: FieldInstanceID})
			case strings.HasPrefix(f, attributePrefix) && len(field) > len(attributePrefix):
				out = append(out, Strategy{Type: p.Type, Field: attributePrefix + field[len(attributePrefix):]})
			default:
				return nil, ecs.InvalidParameterException("Invalid placement strategy field '%s' for type spread. Valid fields are instanceId, host and attribute:<name>.", field)
			}
		default:
			return nil, ecs.InvalidParameterException("Invalid placement strategy type '%s'.", p.Type)
		}
	}
	return out, nil
}

// Predicate is a compiled memberOf expression of the cluster query
// language: it reports whether an instance is a member. It sees the
// instance as placement has it at that moment, tasks placed earlier in the
// same request included (an expression may test task:group).
type Predicate interface {
	Match(in *Instance) bool
}

// PredicateFunc adapts a function to Predicate.
type PredicateFunc func(in *Instance) bool

// Match calls f.
func (f PredicateFunc) Match(in *Instance) bool { return f(in) }

// Constraint is one placement constraint, ready for the engine.
type Constraint struct {
	Type       types.PlacementConstraintType
	Expression string
	// Predicate is the compiled Expression of a memberOf constraint.
	Predicate Predicate
}

// DistinctInstance is the distinctInstance constraint: "each task in a
// particular group is running on a different container instance" [V API
// reference, PlacementConstraint].
func DistinctInstance() Constraint {
	return Constraint{Type: types.PlacementConstraintTypeDistinctInstance}
}

// MemberOf is a memberOf constraint with its compiled expression.
func MemberOf(expression string, p Predicate) Constraint {
	return Constraint{Type: types.PlacementConstraintTypeMemberOf, Expression: expression, Predicate: p}
}

// MergeConstraints joins a revision's placement constraints with a
// request's (or a service's), as ECS applies both: the revision's first,
// every one binding, ten at most in all [V "This limit includes constraints
// in the task definition and those specified at runtime"]. Each is
// validated; the messages are ecsd's [I].
func MergeConstraints(taskDefinition []types.TaskDefinitionPlacementConstraint, request []types.PlacementConstraint) ([]types.PlacementConstraint, error) {
	if n := len(taskDefinition) + len(request); n > MaxConstraints {
		return nil, ecs.InvalidParameterException("The number of placement constraints, including those in the task definition, must be %d or fewer.", MaxConstraints)
	}
	out := make([]types.PlacementConstraint, 0, len(taskDefinition)+len(request))
	for _, c := range taskDefinition {
		out = append(out, types.PlacementConstraint{Type: types.PlacementConstraintType(c.Type), Expression: c.Expression})
	}
	out = append(out, request...)
	for _, c := range out {
		expr := strings.TrimSpace(deref(c.Expression))
		switch c.Type {
		case types.PlacementConstraintTypeDistinctInstance:
			if expr != "" {
				return nil, ecs.InvalidParameterException("An expression cannot be specified for a distinctInstance placement constraint.")
			}
		case types.PlacementConstraintTypeMemberOf:
			if expr == "" {
				return nil, ecs.InvalidParameterException("An expression must be specified for a memberOf placement constraint.")
			}
			if len(expr) > MaxConstraintExprChars {
				return nil, ecs.InvalidParameterException("A placement constraint expression must be %d characters or fewer.", MaxConstraintExprChars)
			}
		default:
			return nil, ecs.InvalidParameterException("Invalid placement constraint type '%s'.", c.Type)
		}
	}
	return out, nil
}

// CompileConstraints turns validated constraints into engine constraints,
// compiling each memberOf expression with compile (the cluster query
// language's compiler, which this package does not import). compile's error
// is returned as is: it should be the AWS-shaped error for a bad
// expression.
func CompileConstraints(list []types.PlacementConstraint, compile func(expression string) (Predicate, error)) ([]Constraint, error) {
	out := make([]Constraint, 0, len(list))
	for _, c := range list {
		if c.Type != types.PlacementConstraintTypeMemberOf {
			out = append(out, DistinctInstance())
			continue
		}
		expr := strings.TrimSpace(deref(c.Expression))
		p, err := compile(expr)
		if err != nil {
			return nil, err
		}
		out = append(out, MemberOf(expr, p))
	}
	return out, nil
}
