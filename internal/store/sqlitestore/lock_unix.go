//go:build unix

package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFileName is the file in the data directory that one ecsd process
// holds an exclusive lock on while it has the store open.
const LockFileName = "ecsd.lock"

// lockDir takes the data directory for this process. SQLite would let two
// ecsd processes share the database, and each would then run its own
// scheduler over the same services and start their tasks twice. The lock
// is an flock, so the kernel drops it when the process dies, even by
// SIGKILL. Creating the lock file is also the first write into dir, so an
// unwritable directory is reported here by name.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: the data directory %s is not writable: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlitestore: the data directory %s is in use by another ecsd process (pid %s)",
				dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("sqlitestore: locking %s: %w", path, err)
	}
	// Who holds it, for the next process's error message.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the flock
}
