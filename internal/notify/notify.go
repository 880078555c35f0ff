// Package notify carries change notices between the parts of ecsd that
// act on state: a use-case that created a task, the supervisor that moved
// one along, the runtime that saw a container exit. A notice is a topic
// and a key (a task or service ARN), never an event with a payload: the
// loops are level-triggered and re-read the state the key names, so a
// notice repeated, reordered or lost costs at most a look or a resync.
//
// One Hub serves a process. Use-cases and loops call Notify; loops
// Subscribe to the topics they act on. When several ecsd replicas share a
// PostgreSQL database, the Hub also hands every notice to a Relay, which
// carries it to the other replicas (LISTEN/NOTIFY), where it is delivered
// as if it had been given there.
//
// It imports nothing of ecsd, so use-cases (control), loops (worker) and
// the server can all depend on it.
package notify

import (
	"strings"
	"sync"
)

// Topic says what kind of resource a notice's key names and who acts on
// it.
type Topic string

const (
	// Task: a task was created or its desired state changed (RunTask,
	// StopTask, the service scheduler, placement). Key: the task's ARN.
	// The task supervisor acts on it.
	Task Topic = "task"
	// TaskStatus: the task supervisor recorded a task's new state. Key:
	// the task's ARN. Log ingestion follows it; the service scheduler
	// hears of service tasks through Service.
	TaskStatus Topic = "task-status"
	// Service: a service or one of its tasks changed. Key: the service's
	// ARN.
	Service Topic = "service"
	// CapacityProvider: a capacity provider, or which providers a
	// cluster uses, changed. Key: the provider's ARN, or "" for any.
	CapacityProvider Topic = "capacity-provider"
	// Group: the runtime saw a task's containers change (a container
	// exited, became healthy). Key: the group's ID, the task's ID. Only
	// the process whose runtime runs the group hears it: Group notices
	// are never relayed.
	Group Topic = "group"
	// Instance: a cluster's container instances changed status
	// (UpdateContainerInstancesState). Key: the cluster.
	Instance Topic = "instance"
	// Hosts: the runtime's hosts (the kubernetes runtime's nodes)
	// changed. Key: "". Like Group, only this process's runtime has them:
	// never relayed.
	Hosts Topic = "hosts"
)

// Local reports whether notices of topic stay in the process that gave
// them.
func (t Topic) Local() bool { return t == Group || t == Hosts }

// Relay carries notices to other processes. Send must not block for long:
// it is called by use-cases on their way to answering a request.
type Relay interface {
	Send(topic Topic, key string)
}

// Hub delivers notices to subscribers in this process and, through its
// relay, to other replicas. The zero value is not usable; call New.
type Hub struct {
	mu    sync.RWMutex
	subs  map[Topic][]func(key string)
	relay Relay
}

// New returns a Hub that relays non-local notices through relay (nil:
// this process is alone).
func New(relay Relay) *Hub {
	return &Hub{subs: map[Topic][]func(string){}, relay: relay}
}

// Subscribe has fn called with the key of every notice of topic, given in
// this process or relayed from another. fn runs on the notifier's
// goroutine, so it must only queue work, never do it.
func (h *Hub) Subscribe(topic Topic, fn func(key string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[topic] = append(h.subs[topic], fn)
}

// Notify tells this process's subscribers and, unless the topic is local,
// the other replicas. Call it once the change it announces has committed:
// a subscriber that reads sooner would find nothing new.
func (h *Hub) Notify(topic Topic, key string) {
	h.Deliver(topic, key)
	if h.relay != nil && !topic.Local() {
		h.relay.Send(topic, key)
	}
}

// Deliver tells this process's subscribers only: for notices a relay
// received from another replica.
func (h *Hub) Deliver(topic Topic, key string) {
	h.mu.RLock()
	subs := h.subs[topic]
	h.mu.RUnlock()
	for _, fn := range subs {
		fn(key)
	}
}

// Encode packs notices into one relay payload: one "topic key" per line.
// Keys (ARNs, IDs) hold neither spaces nor newlines.
func Encode(b *strings.Builder, topic Topic, key string) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(string(topic))
	b.WriteByte(' ')
	b.WriteString(key)
}

// Decode calls fn with every notice of a payload Encode built; lines that
// do not parse are skipped (a replica of a newer version may send more).
func Decode(payload string, fn func(topic Topic, key string)) {
	for line := range strings.SplitSeq(payload, "\n") {
		topic, key, ok := strings.Cut(line, " ")
		if ok && topic != "" {
			fn(Topic(topic), key)
		}
	}
}
