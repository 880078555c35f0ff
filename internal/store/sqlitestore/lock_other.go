//go:build !unix

package sqlitestore

// LockFileName is the file in the data directory that one ecsd process
// holds an exclusive lock on while it has the store open (unix only).
const LockFileName = "ecsd.lock"

// lockDir is a no-op where flock is not available.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }
