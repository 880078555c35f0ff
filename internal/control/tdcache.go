package control

import (
	"bytes"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/store"
)

// maxCachedRevisions bounds describeCache: about 6 KB each decoded, so a
// few megabytes at most.
const maxCachedRevisions = 1024

// describeCache remembers the revisions DescribeTaskDefinition has
// materialized. Materializing is a pure function of the stored record, and
// decoding the stored document was the largest part of a describe's own
// work (with the store read, the rest), so a revision described again is
// answered from here once the store has confirmed the record unchanged:
// an entry is used only while every column and the document are
// byte-for-byte what the store just returned, so a status change, a purge
// and re-registration after a reset all miss.
//
// The values handed out share their slices and pointers with the cache, so
// only a caller that never modifies the result may use it:
// DescribeTaskDefinition hands it straight to the encoder.
type describeCache struct {
	mu sync.RWMutex
	m  map[describeKey]*describeEntry
}

type describeKey struct {
	scope    store.Scope
	family   string
	revision int
}

type describeEntry struct {
	rec store.TaskDefinition
	td  types.TaskDefinition
}

// materialize is materialize(rec), from the cache when rec is unchanged.
func (c *describeCache) materialize(rec store.TaskDefinition) (types.TaskDefinition, error) {
	key := describeKey{rec.Scope, rec.Family, rec.Revision}
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	if e != nil && sameRecord(e.rec, rec) {
		return e.td, nil
	}
	td, err := materialize(rec)
	if err != nil {
		return types.TaskDefinition{}, err
	}
	e = &describeEntry{rec: rec, td: td}
	e.rec.Body = bytes.Clone(rec.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[describeKey]*describeEntry)
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= maxCachedRevisions {
		for k := range c.m { // an arbitrary entry: map order is random
			delete(c.m, k)
			break
		}
	}
	c.m[key] = e
	return td, nil
}

func sameRecord(a, b store.TaskDefinition) bool {
	return a.Scope == b.Scope && a.Family == b.Family && a.Revision == b.Revision && a.Status == b.Status &&
		a.RegisteredAt.Equal(b.RegisteredAt) && a.DeregisteredAt.Equal(b.DeregisteredAt) &&
		a.DeleteRequestedAt.Equal(b.DeleteRequestedAt) && bytes.Equal(a.Body, b.Body)
}
