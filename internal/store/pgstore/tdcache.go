package pgstore

import "github.com/ecsd/ecsd/internal/store"

// tdCache stands in for sqlitestore's task-definition cache, and caches
// nothing. sqlitestore's cache is correct because its process is the
// database's only writer (ecsd.lock) and invalidates it after each commit;
// here another replica may deprecate or delete a revision at any moment,
// and nothing tells this one. A point read is one indexed statement, so
// the shared code reads through.
type tdCache struct{}

// tdCacheKey names a revision, or with revision 0 a family's latest ACTIVE
// revision (the shared code's cache keys).
type tdCacheKey struct {
	scope    store.Scope
	family   string
	revision int
}

func (tdCache) get(tdCacheKey) (store.TaskDefinition, uint64, bool) {
	return store.TaskDefinition{}, 0, false
}

func (tdCache) put(tdCacheKey, store.TaskDefinition, uint64) {}

// touchTaskDefinition and touchAllTaskDefinitions feed sqlitestore's cache
// invalidation; with no cache there is nothing to invalidate.
func touchTaskDefinition(dbtx, store.Scope, string, int) {}

func touchAllTaskDefinitions(dbtx) {}
