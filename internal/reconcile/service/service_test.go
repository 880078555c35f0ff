package service

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

const svcARN = "arn:aws:ecs:us-east-1:123456789012:service/c/web"

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// message is the ECS message of err, or "" for nil.
func message(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an ecs.Error", err)
	}
	return e.Message
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    types.Service
		check   CheckPlacementFunc
		want    func(types.Service) bool
		wantErr string
	}{
		{name: "REPLICA and ECS controller by default", spec: types.Service{DesiredCount: 2},
			want: func(s types.Service) bool {
				dc := s.DeploymentConfiguration
				return s.SchedulingStrategy == types.SchedulingStrategyReplica && s.DeploymentController.Type == types.DeploymentControllerTypeEcs &&
					*dc.MinimumHealthyPercent == 100 && *dc.MaximumPercent == 200 && dc.DeploymentCircuitBreaker != nil &&
					!dc.DeploymentCircuitBreaker.Enable && s.DesiredCount == 2
			}},
		{name: "DAEMON: 0 and 100 percent, desired count the scheduler's", spec: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon, DesiredCount: 5},
			want: func(s types.Service) bool {
				dc := s.DeploymentConfiguration
				return *dc.MinimumHealthyPercent == 0 && *dc.MaximumPercent == 100 && s.DesiredCount == 0
			}},
		{name: "controller kept", spec: types.Service{DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}},
			want: func(s types.Service) bool {
				return s.DeploymentController.Type == types.DeploymentControllerTypeExternal
			}},
		{name: "launch type and strategy", spec: types.Service{LaunchType: types.LaunchTypeFargate,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE")}}}, wantErr: MsgLaunchTypeAndStrategy},
		{name: "DAEMON with strategy", spec: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("cp")}}}, wantErr: MsgDaemonStrategy},
		{name: "DAEMON on Fargate", spec: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon, LaunchType: types.LaunchTypeFargate}, wantErr: MsgDaemonFargate},
		{name: "EC2 with platform version", spec: types.Service{LaunchType: types.LaunchTypeEc2, PlatformVersion: ptr("1.4.0")}, wantErr: MsgPlatformVersionEC2},
		{name: "negative desired count", spec: types.Service{DesiredCount: -1}, wantErr: MsgNegativeDesiredCount},
		{name: "DAEMON with placement strategy", spec: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon,
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}}, wantErr: MsgDaemonPlacementStrategy},
		{name: "DAEMON above 100 percent", spec: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon,
			DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: ptr(int32(200))}}, wantErr: MsgDaemonMaximumPercent},
		{name: "placement rules checked", spec: types.Service{},
			check: func([]types.PlacementStrategy, []types.PlacementConstraint) error {
				return ecs.InvalidParameterException("bad rule")
			}, wantErr: "bad rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Defaults(tc.spec, tc.check)
			if msg := message(t, err); msg != tc.wantErr {
				t.Fatalf("error %q, want %q", msg, tc.wantErr)
			}
			if err == nil && !tc.want(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestDeploymentConfiguration(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	cur := &types.DeploymentConfiguration{MinimumHealthyPercent: i32(50), MaximumPercent: i32(150),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	for _, tc := range []struct {
		name             string
		cur, in          *types.DeploymentConfiguration
		strategy         types.SchedulingStrategy
		wantMin, wantMax int32
		wantBreaker      bool
		wantErr          string
	}{
		{name: "replica defaults", strategy: types.SchedulingStrategyReplica, wantMin: 100, wantMax: 200},
		{name: "daemon defaults", strategy: types.SchedulingStrategyDaemon, wantMin: 0, wantMax: 100},
		{name: "update keeps what it does not name", cur: cur, in: &types.DeploymentConfiguration{MaximumPercent: i32(300)},
			strategy: types.SchedulingStrategyReplica, wantMin: 50, wantMax: 300, wantBreaker: true},
		{name: "breaker replaced", cur: cur, in: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{}},
			strategy: types.SchedulingStrategyReplica, wantMin: 50, wantMax: 150},
		{name: "minimum above 100", in: &types.DeploymentConfiguration{MinimumHealthyPercent: i32(101)},
			strategy: types.SchedulingStrategyReplica, wantErr: "minimumHealthyPercent must be between 0 and 100."},
		{name: "negative maximum", in: &types.DeploymentConfiguration{MaximumPercent: i32(-1)},
			strategy: types.SchedulingStrategyReplica, wantErr: "maximumPercent must be greater than or equal to 0."},
		{name: "daemon maximum 100 at most", in: &types.DeploymentConfiguration{MaximumPercent: i32(101)},
			strategy: types.SchedulingStrategyDaemon, wantErr: MsgDaemonMaximumPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := *cur
			got, err := DeploymentConfiguration(tc.cur, tc.in, tc.strategy)
			if msg := message(t, err); msg != tc.wantErr {
				t.Fatalf("error %q, want %q", msg, tc.wantErr)
			}
			if !reflect.DeepEqual(before, *cur) {
				t.Error("the current configuration was modified")
			}
			if err != nil {
				return
			}
			if *got.MinimumHealthyPercent != tc.wantMin || *got.MaximumPercent != tc.wantMax || got.DeploymentCircuitBreaker.Enable != tc.wantBreaker {
				t.Errorf("got %d/%d breaker %v, want %d/%d %v", *got.MinimumHealthyPercent, *got.MaximumPercent,
					got.DeploymentCircuitBreaker.Enable, tc.wantMin, tc.wantMax, tc.wantBreaker)
			}
			// Applying the same update again changes nothing.
			again, err := DeploymentConfiguration(got, tc.in, tc.strategy)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("not idempotent: %+v then %+v (%v)", got, again, err)
			}
		})
	}
}

func TestResolveLaunch(t *testing.T) {
	cp := func(names ...string) []types.CapacityProviderStrategyItem {
		var out []types.CapacityProviderStrategyItem
		for _, n := range names {
			out = append(out, types.CapacityProviderStrategyItem{CapacityProvider: ptr(n), Weight: 1})
		}
		return out
	}
	withDefault := types.Cluster{CapacityProviders: []string{"FARGATE", "ec2cp"}, DefaultCapacityProviderStrategy: cp("ec2cp")}
	fargateTD := types.TaskDefinition{TaskDefinitionArn: ptr("arn:td:1"), NetworkMode: types.NetworkModeAwsvpc,
		Compatibilities: []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate},
		RuntimePlatform: &types.RuntimePlatform{OperatingSystemFamily: types.OSFamilyWindowsServer2022Core}}
	ec2TD := types.TaskDefinition{TaskDefinitionArn: ptr("arn:td:2"), NetworkMode: types.NetworkModeBridge,
		Compatibilities: []types.Compatibility{types.CompatibilityEc2}}
	awsvpc := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	for _, tc := range []struct {
		name         string
		s            types.Service
		cluster      types.Cluster
		td           types.TaskDefinition
		wantLaunch   types.LaunchType
		wantProvider string
		wantPlatform string
		wantFamily   string
		wantErr      string
	}{
		{name: "EC2 when nothing is named", s: types.Service{}, wantLaunch: types.LaunchTypeEc2},
		{name: "the cluster's default strategy", s: types.Service{}, cluster: withDefault, wantProvider: "ec2cp"},
		{name: "DAEMON ignores the default strategy", s: types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon},
			cluster: withDefault, wantLaunch: types.LaunchTypeEc2},
		{name: "Fargate: LATEST and the revision's family", s: types.Service{LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc},
			td: fargateTD, wantLaunch: types.LaunchTypeFargate, wantPlatform: "LATEST", wantFamily: string(types.OSFamilyWindowsServer2022Core)},
		{name: "FARGATE provider is Fargate", s: types.Service{CapacityProviderStrategy: cp("FARGATE")}, cluster: withDefault,
			wantProvider: "FARGATE", wantPlatform: "LATEST", wantFamily: "Linux"},
		{name: "EC2 drops the platform", s: types.Service{LaunchType: types.LaunchTypeEc2, PlatformVersion: ptr("1.4.0"), PlatformFamily: ptr("Linux")},
			wantLaunch: types.LaunchTypeEc2},
		{name: "provider not in the cluster", s: types.Service{CapacityProviderStrategy: cp("other")}, cluster: withDefault,
			wantErr: "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."},
		{name: "revision not Fargate-compatible", s: types.Service{LaunchType: types.LaunchTypeFargate}, td: ec2TD, wantErr: MsgFargateNotCompatible},
		{name: "awsvpc without network", s: types.Service{LaunchType: types.LaunchTypeFargate}, td: fargateTD, wantErr: MsgAwsvpcNeedsNetwork},
		{name: "network on bridge", s: types.Service{LaunchType: types.LaunchTypeEc2, NetworkConfiguration: awsvpc}, td: ec2TD, wantErr: MsgNetworkNotAwsvpc},
		{name: "no subnets", s: types.Service{LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{}}}, td: fargateTD, wantErr: "subnets can not be empty."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			err := ResolveLaunch(&s, tc.cluster, tc.td)
			if msg := message(t, err); msg != tc.wantErr {
				t.Fatalf("error %q, want %q", msg, tc.wantErr)
			}
			if err != nil {
				return
			}
			provider := ""
			if len(s.CapacityProviderStrategy) > 0 {
				provider = deref(s.CapacityProviderStrategy[0].CapacityProvider)
			}
			if s.LaunchType != tc.wantLaunch || provider != tc.wantProvider || deref(s.PlatformVersion) != tc.wantPlatform || deref(s.PlatformFamily) != tc.wantFamily {
				t.Errorf("got launch %q provider %q platform %q/%q", s.LaunchType, provider, deref(s.PlatformVersion), deref(s.PlatformFamily))
			}
		})
	}
}

func TestNewService(t *testing.T) {
	spec, err := Defaults(types.Service{ServiceName: ptr("web"), Tags: []types.Tag{{Key: ptr("k")}},
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: ptr("memory")}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(spec, Identity{ARN: svcARN, ClusterARN: "arn:c", CreatedAt: t0, CreatedBy: "arn:me", RoleARN: RoleARN("us-east-1", "123456789012", "")})
	switch {
	case deref(s.Status) != ecs.ServiceActive || !s.CreatedAt.Equal(t0) || deref(s.ServiceArn) != svcARN:
		t.Errorf("identity: %+v", s)
	case s.Tags != nil || s.Events == nil || s.Deployments == nil || s.LoadBalancers == nil || s.ServiceRegistries == nil || s.PlacementConstraints == nil:
		t.Errorf("lists: %+v", s)
	case s.PropagateTags != types.PropagateTagsNone || *s.HealthCheckGracePeriodSeconds != 0 || s.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingEnabled:
		t.Errorf("defaults: %+v", s)
	case deref(s.PlacementStrategy[0].Field) != "MEMORY":
		t.Errorf("binpack field stored as %q, want MEMORY", deref(s.PlacementStrategy[0].Field))
	case deref(s.RoleArn) != ecs.ServiceLinkedRoleARN("us-east-1", "123456789012"):
		t.Errorf("role %s", deref(s.RoleArn))
	}
	daemon, _ := Defaults(types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon}, nil)
	if got := New(daemon, Identity{}).AvailabilityZoneRebalancing; got != "" {
		t.Errorf("DAEMON availabilityZoneRebalancing %q, want none", got)
	}
}

func TestRoleARN(t *testing.T) {
	for role, want := range map[string]string{
		"":                                 "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
		"ecsRole":                          "arn:aws:iam::123456789012:role/ecsRole",
		"/path/ecsRole":                    "arn:aws:iam::123456789012:role/path/ecsRole",
		"arn:aws:iam::999999999999:role/x": "arn:aws:iam::999999999999:role/x",
	} {
		if got := RoleARN("us-east-1", "123456789012", role); got != want {
			t.Errorf("RoleARN(%q) = %s, want %s", role, got, want)
		}
	}
}

func TestApply(t *testing.T) {
	base := func() types.Service {
		s, _ := Defaults(types.Service{ServiceName: ptr("web"), DesiredCount: 2, LaunchType: types.LaunchTypeEc2}, nil)
		s = New(s, Identity{ARN: svcARN})
		s.TaskDefinition = ptr("arn:td:1")
		StartDeployment(&s, "ecs-svc/1", Extras{}, t0)
		return s
	}
	cluster := types.Cluster{CapacityProviders: []string{"cp"}}
	for _, tc := range []struct {
		name       string
		u          Update
		wantDeploy bool
		check      func(types.Service, Extras) bool
		wantErr    string
	}{
		{name: "desired count only", u: Update{DesiredCount: ptr(int32(5))},
			check: func(s types.Service, _ Extras) bool { return s.DesiredCount == 5 }},
		{name: "same revision", u: Update{TaskDefinition: types.TaskDefinition{TaskDefinitionArn: ptr("arn:td:1")}}},
		{name: "new revision", u: Update{TaskDefinition: types.TaskDefinition{TaskDefinitionArn: ptr("arn:td:2")}}, wantDeploy: true,
			check: func(s types.Service, _ Extras) bool { return deref(s.TaskDefinition) == "arn:td:2" }},
		{name: "forced", u: Update{ForceNewDeployment: true}, wantDeploy: true},
		{name: "strategy replaces the launch type", u: Update{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("cp"), Weight: 1}}},
			wantDeploy: true, check: func(s types.Service, _ Extras) bool {
				return s.LaunchType == "" && len(s.CapacityProviderStrategy) == 1
			}},
		{name: "Service Connect goes with the deployment", u: Update{ServiceConnectConfiguration: &types.ServiceConnectConfiguration{Enabled: true}},
			wantDeploy: true, check: func(_ types.Service, x Extras) bool { return x.ServiceConnectConfiguration != nil }},
		{name: "placement rules apply in place", u: Update{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}},
			check: func(s types.Service, _ Extras) bool { return len(s.PlacementConstraints) == 1 }},
		{name: "unknown provider", u: Update{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: ptr("nope"), Weight: 1}}},
			wantErr: "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."},
		{name: "bad minimum", u: Update{DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: ptr(int32(-1))}},
			wantErr: "minimumHealthyPercent must be between 0 and 100."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			deploy, x, err := Apply(&s, tc.u, cluster, nil)
			if msg := message(t, err); msg != tc.wantErr {
				t.Fatalf("error %q, want %q", msg, tc.wantErr)
			}
			if err != nil {
				return
			}
			if deploy != tc.wantDeploy {
				t.Errorf("deploy = %v, want %v", deploy, tc.wantDeploy)
			}
			if tc.check != nil && !tc.check(s, x) {
				t.Errorf("got %+v, extras %+v", s, x)
			}
		})
	}
	t.Run("DAEMON keeps its desired count and refuses strategies", func(t *testing.T) {
		s, _ := Defaults(types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon}, nil)
		if _, _, err := Apply(&s, Update{DesiredCount: ptr(int32(3))}, cluster, nil); err != nil || s.DesiredCount != 0 {
			t.Errorf("desired %d, err %v", s.DesiredCount, err)
		}
		_, _, err := Apply(&s, Update{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}}, cluster, nil)
		if msg := message(t, err); msg != MsgDaemonPlacementStrategy {
			t.Errorf("error %q", msg)
		}
	})
}

func TestCheckController(t *testing.T) {
	ext := types.Service{DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}}
	if err := CheckController(ext, Update{DesiredCount: ptr(int32(1))}, false); err != nil {
		t.Errorf("desired count on EXTERNAL: %v", err)
	}
	want := "Unable to update task definition on services with a EXTERNAL deployment controller. Use AWS CodeDeploy to trigger a new deployment."
	if msg := message(t, CheckController(ext, Update{}, true)); msg != want {
		t.Errorf("task definition on EXTERNAL: %q", msg)
	}
	if err := CheckController(types.Service{}, Update{ForceNewDeployment: true}, true); err != nil {
		t.Errorf("ECS controller: %v", err)
	}
}

// TestPropertyOnePrimary starts random sequences of deployments (with
// deployments the scheduler finished in between) and checks that a
// service always has exactly one PRIMARY deployment, first, the new one;
// that the others are ACTIVE or left as they were; that the sources name
// every earlier deployment; and that the caller's deployments[] is never
// modified in place.
func TestPropertyOnePrimary(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for run := range 500 {
		s := New(types.Service{SchedulingStrategy: types.SchedulingStrategyReplica, TaskDefinition: ptr("arn:td:1")}, Identity{ARN: svcARN})
		now := t0
		for step := range 8 {
			now = now.Add(time.Minute)
			// The scheduler retires old deployments as they drain.
			if len(s.Deployments) > 1 && rng.IntN(2) == 0 {
				s.Deployments = s.Deployments[:len(s.Deployments)-1]
			}
			before := s.Deployments
			snapshot := make([]types.Deployment, len(before))
			copy(snapshot, before)
			id := "ecs-svc/" + string(rune('a'+step))
			d, sources := StartDeployment(&s, id, Extras{}, now)
			if !reflect.DeepEqual(before, snapshot) {
				t.Fatalf("run %d step %d: deployments modified in place", run, step)
			}
			primaries := 0
			for i, x := range s.Deployments {
				if deref(x.Status) == ecs.DeploymentPrimary {
					primaries++
					if i != 0 {
						t.Fatalf("run %d step %d: PRIMARY at %d", run, step, i)
					}
				} else if deref(x.Status) != ecs.DeploymentActive {
					t.Fatalf("run %d step %d: status %s", run, step, deref(x.Status))
				}
			}
			if primaries != 1 || deref(s.Deployments[0].Id) != id || deref(d.Id) != id {
				t.Fatalf("run %d step %d: %d PRIMARY, first %s", run, step, primaries, deref(s.Deployments[0].Id))
			}
			if d.RolloutState != types.DeploymentRolloutStateInProgress || len(sources) != len(before) {
				t.Fatalf("run %d step %d: rollout %s, %d sources for %d deployments", run, step, d.RolloutState, len(sources), len(before))
			}
		}
	}
}

func TestStopPrimary(t *testing.T) {
	base := func() types.Service {
		s := New(types.Service{TaskDefinition: ptr("arn:td:1")}, Identity{ARN: svcARN})
		StartDeployment(&s, "ecs-svc/1", Extras{}, t0)
		StartDeployment(&s, "ecs-svc/2", Extras{}, t0)
		return s
	}
	for _, tc := range []struct {
		name       string
		id         string
		stopType   types.StopServiceDeploymentStopType
		want       bool
		wantReason string
		wantUpdate bool
	}{
		{name: "abort", id: "ecs-svc/2", stopType: types.StopServiceDeploymentStopTypeAbort, want: true,
			wantReason: "ECS deployment ecs-svc/2 stopped.", wantUpdate: true},
		{name: "rollback", id: "ecs-svc/2", stopType: types.StopServiceDeploymentStopTypeRollback, want: true,
			wantReason: "ECS deployment ecs-svc/2 rolled back."},
		{name: "not the PRIMARY", id: "ecs-svc/1", stopType: types.StopServiceDeploymentStopTypeAbort},
		{name: "unknown", id: "ecs-svc/9", stopType: types.StopServiceDeploymentStopTypeRollback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			before := slices.Clone(s.Deployments)
			got := StopPrimary(&s, tc.id, tc.stopType, t0.Add(time.Hour))
			if got != tc.want {
				t.Fatalf("StopPrimary = %v, want %v", got, tc.want)
			}
			if !got {
				if !reflect.DeepEqual(before, s.Deployments) {
					t.Error("a refused stop changed the deployments")
				}
				return
			}
			p := s.Deployments[0]
			if p.RolloutState != types.DeploymentRolloutStateFailed || deref(p.RolloutStateReason) != tc.wantReason ||
				p.UpdatedAt.Equal(t0.Add(time.Hour)) != tc.wantUpdate {
				t.Errorf("PRIMARY after stop: %s %q updated %v", p.RolloutState, deref(p.RolloutStateReason), p.UpdatedAt)
			}
			if before[0].RolloutState != types.DeploymentRolloutStateInProgress {
				t.Error("the caller's deployments were modified in place")
			}
		})
	}
}
