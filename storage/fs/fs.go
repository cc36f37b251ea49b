// Package fs stores objects in a directory tree:
// {dir}/{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm.
//
// Every object is written to a temporary file under {dir}/.dicomrecv/tmp,
// fsync'd (unless disabled), and moved to its final name with an atomic
// rename (overwrite) or link (keep/reject: the link fails if the name
// exists, so two associations storing the same instance at once cannot both
// win); the directory is then fsync'd. A reader never sees a partial file,
// and an object whose Commit returned survives a power cut. All paths are
// resolved inside an os.Root, so nothing is ever written outside dir.
package fs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dicomrecv/dicomrecv/storage"
)

// Names inside the storage directory that are ours. They start with a dot
// so that tools scanning the tree skip them.
const (
	// StateDir holds the receiver's own files (temporary files, the study
	// journal).
	StateDir = ".dicomrecv"
	// TempDir holds objects being received.
	TempDir = StateDir + "/tmp"
	// tempSuffix marks our temporary files; only these are removed at
	// start-up.
	tempSuffix = ".dcm.tmp"
)

// Config configures a filesystem backend.
type Config struct {
	// Dir is the root of the tree. It is created if missing.
	Dir string
	// NoFsync skips fsync of files and directories (faster; an answered
	// object may then be lost in a power cut, though never seen partial).
	NoFsync bool
	// Duplicate says what Commit does when the instance is already stored.
	Duplicate storage.DuplicatePolicy
	// Logger receives warnings (e.g. temporary files cleaned at start-up).
	Logger *slog.Logger
}

// Backend is a filesystem storage.Backend.
type Backend struct {
	cfg  Config
	dir  string // absolute
	root *os.Root

	tmpDir    *os.File      // the temporary directory, opened once
	tmpFd     int           // its descriptor
	dirs      dirCache      // series directories kept open
	tmpPrefix string        // random, per backend: temporary names never collide across processes
	tmpSeq    atomic.Uint64 // and a counter within this one
}

// New opens (creating if needed) the directory tree, checks that it is
// writable, and removes temporary files left by an earlier crash.
func New(cfg Config) (*Backend, error) {
	if cfg.Dir == "" {
		return nil, errors.New("fs: no directory")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("fs: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("fs: cannot create storage directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("fs: cannot open storage directory: %w", err)
	}
	b := &Backend{cfg: cfg, dir: abs, root: root, tmpPrefix: randomName()}
	if err := root.MkdirAll(TempDir, 0o755); err != nil {
		root.Close()
		return nil, fmt.Errorf("fs: cannot create %s: %w", filepath.Join(abs, TempDir), err)
	}
	if err := b.cleanTemp(); err != nil {
		root.Close()
		return nil, err
	}
	if b.tmpDir, err = root.Open(TempDir); err != nil {
		root.Close()
		return nil, fmt.Errorf("fs: cannot open %s: %w", TempDir, err)
	}
	b.tmpFd = int(b.tmpDir.Fd())
	if err := b.Check(context.Background()); err != nil {
		b.tmpDir.Close()
		root.Close()
		return nil, err
	}
	return b, nil
}

// Dir returns the absolute storage directory.
func (b *Backend) Dir() string { return b.dir }

// Root returns the os.Root of the storage directory, for other writers that
// must stay inside it (the study journal).
func (b *Backend) Root() *os.Root { return b.root }

func (b *Backend) cleanTemp() error {
	entries, err := fs.ReadDir(b.root.FS(), TempDir)
	if err != nil {
		return fmt.Errorf("fs: cannot read %s: %w", TempDir, err)
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), tempSuffix) {
			if err := b.root.Remove(TempDir + "/" + e.Name()); err == nil {
				n++
			}
		}
	}
	if n > 0 {
		b.cfg.Logger.Warn("removed temporary files of interrupted transfers", "count", n, "dir", filepath.Join(b.dir, TempDir))
	}
	return nil
}

// Check verifies that the tree is writable now: it creates, syncs and
// removes a probe file in the temporary directory. It fails when the
// directory was removed or replaced by a file, or the disk is full.
func (b *Backend) Check(ctx context.Context) error {
	name := TempDir + "/.probe-" + randomName() + tempSuffix
	f, err := b.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("fs: storage directory %s is not writable: %w", b.dir, err)
	}
	_, werr := f.Write([]byte("probe"))
	cerr := f.Close()
	_ = b.root.Remove(name)
	if werr != nil {
		return fmt.Errorf("fs: storage directory %s is not writable: %w", b.dir, werr)
	}
	if cerr != nil {
		return fmt.Errorf("fs: storage directory %s is not writable: %w", b.dir, cerr)
	}
	return nil
}

// FreeBytes returns the space available to unprivileged writers on the
// filesystem of the storage directory.
func (b *Backend) FreeBytes() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Close releases the directory handles.
func (b *Backend) Close() error {
	b.dirs.closeAll()
	b.tmpDir.Close()
	return b.root.Close()
}

// Create starts an object in a temporary file.
func (b *Backend) Create(ctx context.Context, key storage.Key) (storage.Object, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	// The name holds no slash (UIDs are digits and dots): openat in the
	// temporary directory's descriptor cannot leave it.
	name := "." + key.SOPInstanceUID + "-" + b.tmpPrefix + "-" + strconv.FormatUint(b.tmpSeq.Add(1), 36) + tempSuffix
	fd, err := unix.Openat(b.tmpFd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fs: cannot create temporary file: %w", err)
	}
	return &object{b: b, key: key, tmp: name, fd: fd}, nil
}

// object is a file being written. It uses its descriptor directly rather
// than an *os.File: regular files are not polled, and this saves a
// system call and a finalizer per object.
type object struct {
	b   *Backend
	key storage.Key
	tmp string // name in the temporary directory, "" once gone
	fd  int    // -1 once closed
	n   int64
	err error
}

func (o *object) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	if o.fd < 0 {
		o.err = errors.New("fs: write after close")
		return 0, o.err
	}
	total := 0
	for len(p) > 0 {
		n, err := unix.Write(o.fd, p)
		if n > 0 {
			total += n
			o.n += int64(n)
			p = p[n:]
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			o.err = fmt.Errorf("fs: write: %w", err)
			return total, o.err
		case n == 0:
			o.err = fmt.Errorf("fs: write: %w", io.ErrShortWrite)
			return total, o.err
		}
	}
	return total, nil
}

// close closes the descriptor once.
func (o *object) close() error {
	if o.fd < 0 {
		return nil
	}
	err := unix.Close(o.fd)
	o.fd = -1
	return err
}

func (o *object) Abort() error {
	o.close()
	return o.removeTemp()
}

func (o *object) removeTemp() error {
	if o.tmp == "" {
		return nil
	}
	err := unix.Unlinkat(o.b.tmpFd, o.tmp, 0)
	o.tmp = ""
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

func (o *object) Commit(ctx context.Context) (storage.Result, error) {
	res, err := o.commit()
	if err != nil {
		o.Abort()
		return storage.Result{}, err
	}
	return res, nil
}

func (o *object) commit() (storage.Result, error) {
	if o.err != nil {
		return storage.Result{}, o.err
	}
	if !o.b.cfg.NoFsync {
		if err := unix.Fsync(o.fd); err != nil {
			return storage.Result{}, fmt.Errorf("fs: fsync: %w", err)
		}
	}
	if err := o.close(); err != nil {
		return storage.Result{}, fmt.Errorf("fs: close: %w", err)
	}
	seriesDir := o.key.StudyInstanceUID + "/" + o.key.SeriesInstanceUID
	dir, err := o.b.dirs.acquire(o.b, seriesDir)
	if err != nil {
		return storage.Result{}, err
	}
	// A closure: the retry below replaces dir, and the one held at return
	// is the one to release.
	defer func() { o.b.dirs.release(dir) }()
	final := o.key.SOPInstanceUID + ".dcm"
	res := storage.Result{Location: filepath.Join(o.b.dir, filepath.FromSlash(o.key.Path())), Bytes: o.n}
	// linkat fails with EEXIST when the name is taken: an atomic "create
	// if absent" that no concurrent commit can race.
	err = unix.Linkat(o.b.tmpFd, o.tmp, dir.fd, final, 0)
	if errors.Is(err, unix.ENOENT) {
		// The series directory was removed behind our back since acquire
		// checked it: forget it and try once more.
		o.b.dirs.forget(seriesDir)
		o.b.dirs.release(dir)
		if dir, err = o.b.dirs.acquire(o.b, seriesDir); err != nil {
			return storage.Result{}, err
		}
		err = unix.Linkat(o.b.tmpFd, o.tmp, dir.fd, final, 0)
	}
	switch {
	case err == nil:
		_ = o.removeTemp()
	case errors.Is(err, unix.EEXIST):
		res.Duplicate = true
		switch o.b.cfg.Duplicate {
		case storage.Keep:
			_ = o.removeTemp()
			return res, nil // nothing changed on disk
		case storage.Reject:
			return storage.Result{}, storage.ErrDuplicate
		default:
			if err := unix.Renameat(o.b.tmpFd, o.tmp, dir.fd, final); err != nil {
				return storage.Result{}, fmt.Errorf("fs: rename: %w", err)
			}
			o.tmp = ""
		}
	case isLinkUnsupported(err):
		// Filesystems without hard links: fall back to rename, which
		// overwrites; keep/reject then check first (racy, documented).
		var st unix.Stat_t
		if unix.Fstatat(dir.fd, final, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			res.Duplicate = true
			if o.b.cfg.Duplicate != storage.Overwrite {
				_ = o.removeTemp()
				if o.b.cfg.Duplicate == storage.Reject {
					return storage.Result{}, storage.ErrDuplicate
				}
				return res, nil
			}
		}
		if err := unix.Renameat(o.b.tmpFd, o.tmp, dir.fd, final); err != nil {
			return storage.Result{}, fmt.Errorf("fs: rename: %w", err)
		}
		o.tmp = ""
	default:
		return storage.Result{}, fmt.Errorf("fs: link: %w", err)
	}
	if !o.b.cfg.NoFsync {
		if err := unix.Fsync(dir.fd); err != nil {
			return storage.Result{}, fmt.Errorf("fs: fsync directory: %w", err)
		}
	}
	return res, nil
}

func isLinkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK)
}

// ensureDir creates study/series directories as needed and, when it
// created one, fsyncs its parent so the new entry is durable too.
func (b *Backend) ensureDir(seriesDir string) error {
	study, _, _ := strings.Cut(seriesDir, "/")
	for _, d := range []struct{ dir, parent string }{{study, "."}, {seriesDir, study}} {
		err := b.root.Mkdir(d.dir, 0o755)
		switch {
		case err == nil:
			if !b.cfg.NoFsync {
				if err := b.syncDir(d.parent); err != nil {
					return err
				}
			}
		case errors.Is(err, fs.ErrExist):
			fi, serr := b.root.Stat(d.dir)
			if serr != nil {
				return fmt.Errorf("fs: %s: %w", d.dir, serr)
			}
			if !fi.IsDir() {
				return fmt.Errorf("fs: %s exists and is not a directory", filepath.Join(b.dir, d.dir))
			}
		default:
			return fmt.Errorf("fs: cannot create directory: %w", err)
		}
	}
	return nil
}

// dirCache keeps open the series directories objects were recently
// committed to, so that a commit is one linkat and one unlinkat on open
// descriptors rather than a walk of the path. Directories are opened
// through the os.Root, so they are inside the storage directory, and each
// use first checks that the path still names the directory held (stillAt);
// an entry evicted while in use is closed when its last user releases it.
type dirCache struct {
	mu    sync.Mutex
	dirs  map[string]*openDir
	order []string // insertion order, for eviction
}

type openDir struct {
	f        *os.File
	fd       int
	dev, ino uint64 // identity, to notice the path now names another directory
	refs     int
	evicted  bool
}

// stillAt reports whether name, in the storage directory, is still the
// directory d holds open. A descriptor follows its directory when it is
// renamed: a study moved out of the storage directory (archived, say) must
// not receive the next objects of its series, which belong at the path.
func (d *openDir) stillAt(b *Backend, name string) bool {
	fi, err := b.root.Lstat(name)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == d.dev && uint64(st.Ino) == d.ino
}

// maxOpenDirs bounds the series directories kept open.
const maxOpenDirs = 64

func (c *dirCache) acquire(b *Backend, name string) (*openDir, error) {
	c.mu.Lock()
	d, ok := c.dirs[name]
	if ok {
		d.refs++
	}
	c.mu.Unlock()
	if ok {
		if d.stillAt(b, name) {
			return d, nil
		}
		// Moved or removed behind our back: open what the path names now.
		c.forget(name)
		c.release(d)
	}
	if err := b.ensureDir(name); err != nil {
		return nil, err
	}
	f, err := b.root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("fs: open directory: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("fs: stat directory: %w", err)
	}
	d = &openDir{f: f, fd: int(f.Fd()), dev: uint64(st.Dev), ino: st.Ino, refs: 1}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.dirs[name]; ok { // opened concurrently: use the cached one
		f.Close()
		old.refs++
		return old, nil
	}
	if c.dirs == nil {
		c.dirs = map[string]*openDir{}
	}
	c.dirs[name] = d
	c.order = append(c.order, name)
	for len(c.order) > maxOpenDirs {
		c.evictLocked(c.order[0])
	}
	return d, nil
}

func (c *dirCache) release(d *openDir) {
	if d == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.refs--; d.refs == 0 && d.evicted {
		d.f.Close()
	}
}

// forget drops a directory that was removed behind our back.
func (c *dirCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(name)
}

func (c *dirCache) evictLocked(name string) {
	d, ok := c.dirs[name]
	if !ok {
		return
	}
	delete(c.dirs, name)
	for i, n := range c.order {
		if n == name {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	d.evicted = true
	if d.refs == 0 {
		d.f.Close()
	}
}

// closeAll closes every cached directory (the backend is closing).
func (c *dirCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.dirs {
		c.evictLocked(name)
	}
}

func (b *Backend) syncDir(name string) error {
	d, err := b.root.Open(name)
	if err != nil {
		return fmt.Errorf("fs: open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fs: fsync directory: %w", err)
	}
	return nil
}

func randomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
