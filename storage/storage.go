// Package storage defines where received objects go: a Backend creates an
// Object, the receiver streams the object's bytes into it, and the Object is
// then committed (made visible at its final name, atomically) or aborted
// (leaving nothing behind).
//
// Storage knows nothing of PDUs or DIMSE: it stores bytes under a Key made of
// three validated UIDs. The filesystem (storage/fs) and S3 (storage/s3) are two
// implementations; tests use a third in memory.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Key names a stored object by the UIDs of its study, series and instance.
// Paths and object keys are built from a Key as
// {StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm.
type Key struct {
	StudyInstanceUID  string
	SeriesInstanceUID string
	SOPInstanceUID    string
}

// Path returns the key's relative path with forward slashes.
func (k Key) Path() string {
	return k.StudyInstanceUID + "/" + k.SeriesInstanceUID + "/" + k.SOPInstanceUID + ".dcm"
}

// Validate returns an error naming the first UID of k that is not a valid
// UID (see ValidUID). A Key must be valid before any backend sees it.
func (k Key) Validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"StudyInstanceUID", k.StudyInstanceUID},
		{"SeriesInstanceUID", k.SeriesInstanceUID},
		{"SOPInstanceUID", k.SOPInstanceUID},
	} {
		if !ValidUID(f.v) {
			return fmt.Errorf("%w: %s %q", ErrInvalidUID, f.name, f.v)
		}
	}
	return nil
}

// ErrInvalidUID is wrapped by Key.Validate.
var ErrInvalidUID = errors.New("invalid UID")

// MaxUIDLength is the longest UID PS3.5 §9.1 allows.
const MaxUIDLength = 64

// ValidUID reports whether s is a UID as PS3.5 §9.1 defines it and as this
// receiver accepts it in a path: 1 to 64 characters, digits in components
// separated by single dots (^[0-9]+(\.[0-9]+)*$). Padding must be trimmed
// before. Anything else never reaches a path: it is refused, not sanitised.
func ValidUID(s string) bool {
	if len(s) == 0 || len(s) > MaxUIDLength {
		return false
	}
	prevDot := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			prevDot = false
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
		default:
			return false
		}
	}
	return !prevDot
}

// DuplicatePolicy says what Commit does when an object with the same Key is
// already stored.
type DuplicatePolicy int

const (
	// Overwrite replaces the stored object atomically (the default, as the
	// seed and DCMTK do).
	Overwrite DuplicatePolicy = iota
	// Keep keeps the first copy and discards the new one; Commit succeeds.
	Keep
	// Reject keeps the first copy and Commit fails with ErrDuplicate.
	Reject
)

// String returns the policy's configuration name.
func (p DuplicatePolicy) String() string {
	switch p {
	case Overwrite:
		return "overwrite"
	case Keep:
		return "keep"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("DuplicatePolicy(%d)", int(p))
}

// ParseDuplicatePolicy parses "overwrite", "keep" or "reject".
func ParseDuplicatePolicy(s string) (DuplicatePolicy, error) {
	switch s {
	case "overwrite", "":
		return Overwrite, nil
	case "keep":
		return Keep, nil
	case "reject":
		return Reject, nil
	}
	return 0, fmt.Errorf("unknown duplicate policy %q (want overwrite, keep or reject)", s)
}

// ErrDuplicate is returned by Commit under the Reject policy when the key is
// already stored.
var ErrDuplicate = errors.New("storage: object already stored")

// Backend stores objects. Implementations are safe for concurrent use.
type Backend interface {
	// Create starts a new object to be stored under key, which the caller
	// has validated. Nothing is visible under key until Commit succeeds.
	Create(ctx context.Context, key Key) (Object, error)
	// Check reports whether the backend can store objects now (the
	// directory is writable, the bucket reachable). It is cheap enough to
	// call from a readiness probe.
	Check(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Object is an object being written. Exactly one of Commit or Abort must be
// called; after either, the Object must not be used again.
type Object interface {
	io.Writer
	// Commit makes the bytes written so far durable (as configured) and
	// visible under the object's key, atomically: a reader sees the old
	// object or the new one, never a part.
	Commit(ctx context.Context) (Result, error)
	// Abort discards everything written; nothing remains.
	Abort() error
}

// Result describes a committed object.
type Result struct {
	// Location is where the object is: a filesystem path, or
	// s3://bucket/key.
	Location string
	// Bytes is the number of bytes stored.
	Bytes int64
	// Duplicate is true when an object was already stored under the key
	// (it was replaced under Overwrite, kept under Keep).
	Duplicate bool
}
