package ecs

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestTaskReservation(t *testing.T) {
	port := func(c, h int32, p types.TransportProtocol) types.PortMapping {
		return types.PortMapping{ContainerPort: &c, HostPort: &h, Protocol: p}
	}
	gpu := []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: ptr("2")}}
	for _, tc := range []struct {
		name string
		td   types.TaskDefinition
		ov   *types.TaskOverride
		want Reservation
	}{
		{"container sums; memoryReservation wins over memory", types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Cpu: 256, Memory: ptr(int32(512)), MemoryReservation: ptr(int32(128))},
			{Name: ptr("b"), Cpu: 128, Memory: ptr(int32(300))},
		}}, nil, Reservation{CPU: 384, Memory: 428}},
		{"task-level values win", types.TaskDefinition{Cpu: ptr("1024"), Memory: ptr("2048"), ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Cpu: 256, Memory: ptr(int32(512))},
		}}, nil, Reservation{CPU: 1024, Memory: 2048}},
		{"overrides", types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Cpu: 256, Memory: ptr(int32(512))},
		}}, &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: ptr("a"), Cpu: ptr(int32(10)), MemoryReservation: ptr(int32(20))}}},
			Reservation{CPU: 10, Memory: 20}},
		{"bridge: static host ports, dynamic ones reserve nothing, UDP apart", types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Memory: ptr(int32(1)), PortMappings: []types.PortMapping{port(80, 8080, ""), port(81, 0, ""), port(53, 53, types.TransportProtocolUdp)}},
		}}, nil, Reservation{Memory: 1, Ports: []int{8080}, PortsUDP: []int{53}}},
		{"host mode: the container port", types.TaskDefinition{NetworkMode: types.NetworkModeHost, ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Memory: ptr(int32(1)), PortMappings: []types.PortMapping{{ContainerPort: ptr(int32(9000))}}},
		}}, nil, Reservation{Memory: 1, Ports: []int{9000}}},
		{"awsvpc: its own interface", types.TaskDefinition{NetworkMode: types.NetworkModeAwsvpc, ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Memory: ptr(int32(1)), PortMappings: []types.PortMapping{port(80, 80, "")}},
		}}, nil, Reservation{Memory: 1}},
		{"GPUs", types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("a"), Memory: ptr(int32(1)), ResourceRequirements: gpu},
			{Name: ptr("b"), Memory: ptr(int32(1)), ResourceRequirements: gpu},
		}}, nil, Reservation{Memory: 2, GPUs: 4}},
	} {
		if diff := cmp.Diff(tc.want, TaskReservation(tc.td, tc.ov)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestInstanceResources(t *testing.T) {
	reg, err := ParseTotalResources([]types.Resource{
		{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: 2048},
		{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: 4000},
		{Name: ptr("PORTS"), Type: ptr("STRINGSET"), StringSetValue: []string{"22", "2375"}},
		{Name: ptr("PORTS_UDP"), Type: ptr("STRINGSET"), StringSetValue: []string{}},
		{Name: ptr("GPU"), Type: ptr("STRINGSET"), StringSetValue: []string{"gpu-1", "gpu-0"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Wire and back is the identity.
	if diff := cmp.Diff(reg, ResourcesFromWire(reg.Wire())); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	need := Reservation{CPU: 1000, Memory: 1000, Ports: []int{8080}, GPUs: 1}
	if lack := reg.Lacks(need); lack != "" {
		t.Fatalf("Lacks = %s, want it to fit", lack)
	}
	left := reg
	got := left.Take(need)
	if !slices.Equal(got.GPUIDs, []string{"gpu-0"}) {
		t.Errorf("GPUs given = %v, want the lowest free one", got.GPUIDs)
	}
	if left.CPU != 1048 || left.Memory != 3000 || !slices.Equal(left.Ports, []int{22, 2375, 8080}) || !slices.Equal(left.GPUs, []string{"gpu-1"}) {
		t.Errorf("after Take: %+v", left)
	}
	// Remaining from the registered resources and the reservation gives
	// the same answer as taking it.
	if diff := cmp.Diff(left, reg.Remaining([]Reservation{got})); diff != "" {
		t.Errorf("Remaining disagrees with Take (-take +remaining):\n%s", diff)
	}
	for _, tc := range []struct {
		need Reservation
		want string
	}{
		{Reservation{CPU: 1049}, "CPU"},
		{Reservation{CPU: 1048, Memory: 3001}, "MEMORY"},
		{Reservation{Ports: []int{2375}}, "PORTS"},
		{Reservation{Ports: []int{8080}}, "PORTS"},
		{Reservation{PortsUDP: []int{53}}, ""},
		{Reservation{GPUs: 2}, "GPU"},
	} {
		if got := left.Lacks(tc.need); got != tc.want {
			t.Errorf("Lacks(%+v) = %q, want %q", tc.need, got, tc.want)
		}
	}
	for _, bad := range [][]types.Resource{
		{{Name: ptr("DISK")}},
		{{Name: ptr("CPU"), Type: ptr("STRINGSET")}},
		{{Name: ptr("CPU"), IntegerValue: -1}},
		{{Name: ptr("PORTS"), StringSetValue: []string{"http"}}},
		{{Name: ptr("PORTS"), StringSetValue: []string{"70000"}}},
		{{Name: ptr("CPU")}, {Name: ptr("CPU")}},
	} {
		var e *Error
		if _, err := ParseTotalResources(bad); !errors.As(err, &e) || e.Code != "InvalidParameterException" {
			t.Errorf("ParseTotalResources(%+v) = %v, want InvalidParameterException", bad, err)
		}
	}
}

// StartTask checks each instance it names with InstanceRefusal.
func TestInstanceRefusal(t *testing.T) {
	inst := func(status string, connected bool, cpu int, attrs ...string) InstanceCandidate {
		ci := types.ContainerInstance{ContainerInstanceArn: ptr("arn"), Status: ptr(status), AgentConnected: connected}
		for _, a := range attrs {
			ci.Attributes = append(ci.Attributes, types.Attribute{Name: ptr(a)})
		}
		return InstanceCandidate{Instance: ci, Remaining: InstanceResources{CPU: cpu, Memory: 1000}}
	}
	need := TaskRequirements{Reservation: Reservation{CPU: 500}, RequiresAttributes: []types.Attribute{{Name: ptr("cap")}}}
	cands := []InstanceCandidate{
		inst(InstanceActive, false, 4000, "cap"),
		inst(InstanceActive, true, 4000),
		inst(InstanceActive, true, 100, "cap"),
		inst(InstanceInactive, true, 4000, "cap"),
	}
	var reasons []string
	for _, c := range cands {
		reasons = append(reasons, InstanceRefusal(c, need))
	}
	if !slices.Equal(reasons, []string{"AGENT", "ATTRIBUTE", "RESOURCE:CPU", "INACTIVE"}) {
		t.Errorf("refusals = %v", reasons)
	}
	cands = append(cands, inst(InstanceActive, true, 500, "cap"))
	if r := InstanceRefusal(cands[4], need); r != "" {
		t.Errorf("an instance with room refused: %q", r)
	}
	// A required attribute with a value needs that value.
	valued := TaskRequirements{RequiresAttributes: []types.Attribute{{Name: ptr("cap"), Value: ptr("x")}}}
	if r := InstanceRefusal(cands[4], valued); r != "ATTRIBUTE" {
		t.Errorf("refusal for a valued attribute = %q", r)
	}
}

func TestParseInstanceIdentityDocument(t *testing.T) {
	id, err := ParseInstanceIdentityDocument(`{"instanceId":"i-1","instanceType":"t3.micro","availabilityZone":"us-east-1b","imageId":"ami-1","architecture":"arm64","region":"us-east-1","pendingTime":"2024-01-01T00:00:00Z"}`)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range IdentityAttributes(id) {
		attrs[*a.Name] = *a.Value
	}
	want := map[string]string{"ecs.ami-id": "ami-1", "ecs.availability-zone": "us-east-1b", "ecs.instance-type": "t3.micro", "ecs.cpu-architecture": "arm64"}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Errorf("identity attributes (-want +got):\n%s", diff)
	}
	if id, err := ParseInstanceIdentityDocument(""); err != nil || id != (InstanceIdentity{}) {
		t.Errorf("empty document: %+v %v", id, err)
	}
	if _, err := ParseInstanceIdentityDocument("[1]"); err == nil {
		t.Error("a list is not an identity document")
	}
}

func TestAgentUpdate(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ci := types.ContainerInstance{VersionInfo: &types.VersionInfo{AgentVersion: ptr("1.14.5")}}
	if err := CheckAgentUpdate(ci); err != nil {
		t.Fatalf("an old agent: %v", err)
	}
	for i, want := range []types.AgentUpdateStatus{"PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED", "UPDATED"} {
		v := AgentUpdateView(ci, t0, t0.Add(time.Duration(i)*AgentUpdateStep))
		if v.AgentUpdateStatus != want {
			t.Errorf("step %d: %s, want %s", i, v.AgentUpdateStatus, want)
		}
		if i < 4 && *v.VersionInfo.AgentVersion != "1.14.5" || i >= 4 && *v.VersionInfo.AgentVersion != LatestAgentVersion {
			t.Errorf("step %d: version %s", i, *v.VersionInfo.AgentVersion)
		}
		err := CheckAgentUpdate(v)
		var e *Error
		switch {
		case i < 4 && (!errors.As(err, &e) || e.Code != "UpdateInProgressException"):
			t.Errorf("step %d: CheckAgentUpdate = %v, want UpdateInProgressException", i, err)
		case i >= 4 && (!errors.As(err, &e) || e.Code != "NoUpdateAvailableException"):
			t.Errorf("step %d: CheckAgentUpdate = %v, want NoUpdateAvailableException", i, err)
		}
	}
	if *ci.VersionInfo.AgentVersion != "1.14.5" {
		t.Error("AgentUpdateView changed its input")
	}
	if err := CheckAgentUpdate(types.ContainerInstance{}); err == nil || err.(*Error).Code != "MissingVersionException" {
		t.Errorf("no version: %v", err)
	}
}

func TestValidateAttribute(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		hasValue    bool
		ok          bool
	}{
		{"stack", "prod", true, true},
		{"ecs.os-type", "", false, true},
		{"a/b\\c.d-e_f", "x@y:z w", true, true},
		{"", "", false, false},
		{"has space", "", false, false},
		{string(make([]byte, 129)), "", false, false},
		{"ok", "", true, false},
		{"ok", " lead", true, false},
		{"ok", "bad!", true, false},
	} {
		a := types.Attribute{Name: &tc.name}
		if tc.hasValue {
			a.Value = &tc.value
		}
		if err := ValidateAttribute(a); (err == nil) != tc.ok {
			t.Errorf("ValidateAttribute(%q=%q): %v, want ok=%t", tc.name, tc.value, err, tc.ok)
		}
	}
}

func TestApplyTaskStateChange(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	task := types.Task{TaskArn: ptr("arn:aws:ecs:us-east-1:1:task/c/abc"), LastStatus: ptr(TaskPending), DesiredStatus: ptr(TaskRunning), Version: 1,
		Containers:  []types.Container{{Name: ptr("app"), LastStatus: ptr(ContainerPending)}},
		Attachments: []types.Attachment{{Id: ptr("att-1"), Status: ptr(AttachmentPrecreated)}}}
	next, changed, err := ApplyTaskStateChange(task, TaskStateChange{Status: TaskRunning,
		Containers:  []types.ContainerStateChange{{ContainerName: ptr("app"), Status: ptr("RUNNING"), RuntimeId: ptr("r1")}},
		Attachments: []types.AttachmentStateChange{{AttachmentArn: ptr(AttachmentARN("us-east-1", "1", "att-1")), Status: ptr("ATTACHED")}},
	}, t0)
	if err != nil || !changed || *next.LastStatus != TaskRunning || next.Version != 2 || *next.Containers[0].RuntimeId != "r1" || *next.Attachments[0].Status != "ATTACHED" {
		t.Fatalf("RUNNING report: %v %v %+v", changed, err, next)
	}
	if *task.Containers[0].LastStatus != ContainerPending {
		t.Error("the input task was modified")
	}
	// The same report again changes nothing.
	if _, changed, _ := ApplyTaskStateChange(next, TaskStateChange{Status: TaskRunning}, t0); changed {
		t.Error("a repeated report changed the task")
	}
	stopped, changed, err := ApplyTaskStateChange(next, TaskStateChange{Status: TaskStopped, Reason: "exited"}, t0.Add(time.Minute))
	if err != nil || !changed || *stopped.LastStatus != TaskStopped || stopped.StoppedAt == nil || *stopped.StoppedReason != "exited" || *stopped.DesiredStatus != TaskStopped {
		t.Fatalf("STOPPED report: %+v %v", stopped, err)
	}
	if _, _, err := ApplyTaskStateChange(next, TaskStateChange{Containers: []types.ContainerStateChange{{ContainerName: ptr("ghost")}}}, t0); err == nil {
		t.Error("a report on an unknown container was accepted")
	}
	if got := MarkStopped(next, t0); *got.LastStatus != TaskStopped || got.StopCode == "" {
		t.Errorf("MarkStopped: %+v", got)
	}
}
