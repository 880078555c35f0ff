package notify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecsd/ecsd/internal/notify"
)

type relay struct{ sent []string }

func (r *relay) Send(topic notify.Topic, key string) { r.sent = append(r.sent, string(topic)+" "+key) }

func TestHub(t *testing.T) {
	r := &relay{}
	h := notify.New(r)
	var tasks, services []string
	h.Subscribe(notify.Task, func(k string) { tasks = append(tasks, k) })
	h.Subscribe(notify.Task, func(k string) { tasks = append(tasks, "again "+k) })
	h.Subscribe(notify.Service, func(k string) { services = append(services, k) })
	h.Notify(notify.Task, "t1")
	h.Notify(notify.Group, "g1") // no subscriber, never relayed
	h.Deliver(notify.Service, "s1")
	if want := []string{"t1", "again t1"}; !slices.Equal(tasks, want) {
		t.Errorf("task subscribers heard %q, want %q", tasks, want)
	}
	if want := []string{"s1"}; !slices.Equal(services, want) {
		t.Errorf("service subscriber heard %q, want %q", services, want)
	}
	// Deliver is what another replica sent: not relayed back. Group
	// notices belong to this process's runtime.
	if want := []string{"task t1"}; !slices.Equal(r.sent, want) {
		t.Errorf("relayed %q, want %q", r.sent, want)
	}
}

func TestEncodeDecode(t *testing.T) {
	in := [][2]string{
		{"task", "arn:aws:ecs:us-east-1:123456789012:task/default/0123"},
		{"service", "arn:aws:ecs:us-east-1:123456789012:service/default/web"},
		{"capacity-provider", ""},
	}
	var b strings.Builder
	for _, n := range in {
		notify.Encode(&b, notify.Topic(n[0]), n[1])
	}
	var out [][2]string
	notify.Decode(b.String()+"\ngarbage\n", func(topic notify.Topic, key string) { out = append(out, [2]string{string(topic), key}) })
	if !slices.Equal(in, out) {
		t.Errorf("decoded %q, want %q", out, in)
	}
}
