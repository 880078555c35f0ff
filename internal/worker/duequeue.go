package worker

import (
	"container/heap"
	"sync"
	"time"
)

// dueQueue is the task supervisor's work queue: a de-duplicating queue of
// keys ready now, and a timer heap of keys due later (a task waiting out
// its transition delay, a simulated container that exits at a known
// time). A key is held once: queued now, or due at its earliest time.
// One consumer takes keys; a key added while the consumer works on it is
// simply queued again, so the consumer looks at it once more.
//
// It keeps nothing per task beyond the keys waiting in it: an idle task
// (running, nothing scheduled) costs nothing here.
type dueQueue struct {
	mu     sync.Mutex
	ready  []string
	queued map[string]bool
	later  dueHeap
	at     map[string]*dueItem
	// wake holds one token when something was added since the consumer
	// last looked.
	wake chan struct{}
}

type dueItem struct {
	key   string
	at    time.Time
	index int
}

func newDueQueue() *dueQueue {
	return &dueQueue{queued: map[string]bool{}, at: map[string]*dueItem{}, wake: make(chan struct{}, 1)}
}

// Add queues key now.
func (q *dueQueue) Add(key string) {
	q.mu.Lock()
	if it, ok := q.at[key]; ok {
		heap.Remove(&q.later, it.index)
		delete(q.at, key)
	}
	if !q.queued[key] {
		q.queued[key] = true
		q.ready = append(q.ready, key)
	}
	q.mu.Unlock()
	q.signal()
}

// AddAt queues key at t, unless it is queued sooner already.
func (q *dueQueue) AddAt(key string, t time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[key] {
		return
	}
	if it, ok := q.at[key]; ok {
		if !t.Before(it.at) {
			return
		}
		it.at = t
		heap.Fix(&q.later, it.index)
	} else {
		it := &dueItem{key: key, at: t}
		heap.Push(&q.later, it)
		q.at[key] = it
	}
	if q.later[0].key == key {
		q.signal() // the consumer may be sleeping until a later time
	}
}

func (q *dueQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Take removes and returns up to n keys due at now: those queued now
// first, then those whose time has come, earliest first.
func (q *dueQueue) Take(now time.Time, n int) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.later) > 0 && !q.later[0].at.After(now) {
		it := heap.Pop(&q.later).(*dueItem)
		delete(q.at, it.key)
		if !q.queued[it.key] {
			q.queued[it.key] = true
			q.ready = append(q.ready, it.key)
		}
	}
	k := min(n, len(q.ready))
	if k == 0 {
		return nil
	}
	out := make([]string, k)
	copy(out, q.ready)
	for _, key := range out {
		delete(q.queued, key)
	}
	// Let go of the backing array once drained, so a burst of keys does
	// not pin memory for good.
	if k == len(q.ready) {
		q.ready = nil
	} else {
		q.ready = q.ready[k:]
	}
	return out
}

// Next is the earliest time a key waits for (zero: none waits), and
// whether keys are ready now.
func (q *dueQueue) Next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ready) > 0 {
		return time.Time{}, true
	}
	if len(q.later) == 0 {
		return time.Time{}, false
	}
	return q.later[0].at, false
}

// Len is how many keys wait, now or later.
func (q *dueQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) + len(q.later)
}

// Clear forgets every key (the reset endpoint).
func (q *dueQueue) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready, q.later = nil, nil
	clear(q.queued)
	clear(q.at)
}

type dueHeap []*dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	it := x.(*dueItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
