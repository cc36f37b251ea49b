//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package study

import (
	"fmt"
	"os"
)

// lockFile opens path. Where flock(2) is not available the journal is not
// locked: two Trackers must not be given the same JournalPath.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("study: journal lock: %w", err)
	}
	return f, nil
}
