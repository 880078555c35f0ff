package sqlitestore

import (
	"bytes"
	"sync"

	"github.com/ecsd/ecsd/internal/store"
)

// maxCachedTaskDefinitions bounds tdCache: a revision is a few hundred
// bytes of columns and its document, so a few megabytes at most.
const maxCachedTaskDefinitions = 4096

// tdCache keeps task-definition records read by GetTaskDefinition and
// LatestActiveTaskDefinition. A point read through database/sql and SQLite
// cost about 10 µs of CPU, a quarter of a DescribeTaskDefinition, and
// revisions are read far more often than written.
//
// It is never stale once a write is acknowledged: the writer invalidates
// the keys a batch touched after the batch commits and before any of its
// writers hear of it, and a reader may fill in what it read only if no
// invalidation happened since before it read (gen), so a value read before
// a commit can never be put back after it. Only this process writes the
// database (ecsd.lock).
type tdCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[tdCacheKey]store.TaskDefinition
}

// tdCacheKey names a revision, or with revision 0 the family's latest
// ACTIVE revision.
type tdCacheKey struct {
	scope    store.Scope
	family   string
	revision int
}

// get returns a copy of the cached record, or the generation a reader must
// pass to put what it reads instead.
func (c *tdCache) get(k tdCacheKey) (td store.TaskDefinition, gen uint64, ok bool) {
	c.mu.Lock()
	td, ok = c.m[k]
	gen = c.gen
	c.mu.Unlock()
	if ok {
		td.Body = bytes.Clone(td.Body) // callers own what they are given
	}
	return td, gen, ok
}

// put caches td under k unless an invalidation happened since gen.
func (c *tdCache) put(k tdCacheKey, td store.TaskDefinition, gen uint64) {
	td.Body = bytes.Clone(td.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil {
		c.m = make(map[tdCacheKey]store.TaskDefinition)
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCachedTaskDefinitions {
		for old := range c.m { // an arbitrary entry: map order is random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = td
}

// invalidate forgets keys, or everything.
func (c *tdCache) invalidate(keys []tdCacheKey, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if all {
		clear(c.m)
		return
	}
	for _, k := range keys {
		delete(c.m, k)
	}
}

// touchTaskDefinition records, when tx is the writer's, that a write
// changed a revision (and so perhaps its family's latest ACTIVE one).
func touchTaskDefinition(tx dbtx, scope store.Scope, family string, revision int) {
	if bt, ok := tx.(*batchTx); ok {
		bt.touched = append(bt.touched, tdCacheKey{scope, family, revision}, tdCacheKey{scope, family, 0})
	}
}

// touchAllTaskDefinitions records that a write may have changed any
// revision.
func touchAllTaskDefinitions(tx dbtx) {
	if bt, ok := tx.(*batchTx); ok {
		bt.touchedAll = true
	}
}
