package fs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dicomrecv/dicomrecv/storage"
)

var key = storage.Key{StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.4", SOPInstanceUID: "1.2.3.4.5"}

func newBackend(t *testing.T, p storage.DuplicatePolicy) (*Backend, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := New(Config{Dir: dir, Duplicate: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

func store(t *testing.T, b *Backend, k storage.Key, data []byte) (storage.Result, error) {
	t.Helper()
	o, err := b.Create(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(data); i += 7 {
		if _, err := o.Write(data[i:min(i+7, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	return o.Commit(context.Background())
}

// tempFiles lists what is left in the temporary directory.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, TempDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCommitWritesAtKeyPath(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	data := []byte("hello dicom object bytes")
	res, err := store(t, b, key, data)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "1.2.3", "1.2.3.4", "1.2.3.4.5.dcm")
	if res.Location != want || res.Bytes != int64(len(data)) || res.Duplicate {
		t.Fatalf("result %+v, want location %s, %d bytes, not duplicate", res, want, len(data))
	}
	got, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file = %q, %v", got, err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	o, err := b.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("partial"))
	if err := o.Abort(); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "1.2.3")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("study directory exists after abort: %v", err)
	}
}

func TestDuplicatePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy  storage.DuplicatePolicy
		wantErr error
		want    string // content after the second store
	}{
		{storage.Overwrite, nil, "second"},
		{storage.Keep, nil, "first"},
		{storage.Reject, storage.ErrDuplicate, "first"},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			b, dir := newBackend(t, tc.policy)
			if _, err := store(t, b, key, []byte("first")); err != nil {
				t.Fatal(err)
			}
			res, err := store(t, b, key, []byte("second"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("second commit: err %v, want %v", err, tc.wantErr)
			}
			if err == nil && !res.Duplicate {
				t.Fatalf("second commit not flagged duplicate: %+v", res)
			}
			got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key.Path())))
			if string(got) != tc.want {
				t.Fatalf("stored %q, want %q", got, tc.want)
			}
			if left := tempFiles(t, dir); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

// Two associations commit the same instance at once: under keep and
// reject exactly one copy wins, never a mix.
func TestConcurrentDuplicateIsRaceFree(t *testing.T) {
	for _, p := range []storage.DuplicatePolicy{storage.Keep, storage.Reject} {
		t.Run(p.String(), func(t *testing.T) {
			b, dir := newBackend(t, p)
			const n = 16
			var wg sync.WaitGroup
			results := make([]error, n)
			dups := make([]bool, n)
			objs := make([]storage.Object, n)
			for i := range objs {
				o, err := b.Create(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				o.Write(bytes.Repeat([]byte{byte('a' + i)}, 4096))
				objs[i] = o
			}
			for i := range objs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := objs[i].Commit(context.Background())
					results[i], dups[i] = err, res.Duplicate
				}()
			}
			wg.Wait()
			winners := 0
			for i := range results {
				if results[i] == nil && !dups[i] {
					winners++
				}
				if results[i] != nil && !errors.Is(results[i], storage.ErrDuplicate) {
					t.Fatalf("commit %d: %v", i, results[i])
				}
			}
			if winners != 1 {
				t.Fatalf("%d commits stored as first copy, want exactly 1", winners)
			}
			got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key.Path())))
			if len(got) != 4096 || !bytes.Equal(got, bytes.Repeat(got[:1], 4096)) {
				t.Fatalf("stored object is a mix of copies")
			}
		})
	}
}

// A regular file where the study directory must go makes Commit fail (the
// receiver answers 0xA700), leaves nothing behind, and other studies still
// store.
func TestCommitFailsWhenStudyPathIsAFile(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	if err := os.WriteFile(filepath.Join(dir, "1.2.3"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store(t, b, key, []byte("x")); err == nil {
		t.Fatal("commit succeeded although the study path is a file")
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	other := storage.Key{StudyInstanceUID: "9.8", SeriesInstanceUID: "9.8.7", SOPInstanceUID: "9.8.7.6"}
	if _, err := store(t, b, other, []byte("y")); err != nil {
		t.Fatalf("next object: %v", err)
	}
}

func TestCreateRejectsInvalidKeys(t *testing.T) {
	b, _ := newBackend(t, storage.Overwrite)
	for _, k := range []storage.Key{
		{StudyInstanceUID: "..", SeriesInstanceUID: "1", SOPInstanceUID: "1"},
		{StudyInstanceUID: "1", SeriesInstanceUID: "1/2", SOPInstanceUID: "1"},
		{StudyInstanceUID: "1", SeriesInstanceUID: "1", SOPInstanceUID: ""},
		{StudyInstanceUID: "1.", SeriesInstanceUID: "1", SOPInstanceUID: "1"},
	} {
		if _, err := b.Create(context.Background(), k); !errors.Is(err, storage.ErrInvalidUID) {
			t.Errorf("Create(%+v) = %v, want ErrInvalidUID", k, err)
		}
	}
}

func TestNewCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, TempDir), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, TempDir, ".1.2.3-abc"+tempSuffix)
	keep := filepath.Join(dir, TempDir, "not-ours")
	os.WriteFile(stale, []byte("half"), 0o644)
	os.WriteFile(keep, []byte("x"), 0o644)
	b, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temporary file survived: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file that is not ours was removed: %v", err)
	}
}

func TestNewFailsOnUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := New(Config{Dir: file}); err == nil {
		t.Fatal("New succeeded on a regular file")
	}
	if _, err := New(Config{Dir: filepath.Join(file, "sub")}); err == nil {
		t.Fatal("New succeeded below a regular file")
	}
}

// Check fails once the directory is replaced by a file (a real failure,
// even for root).
func TestCheckDetectsReplacedDir(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	if err := b.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir, []byte("x"), 0o644)
	if err := b.Check(context.Background()); err == nil {
		t.Fatal("Check succeeded after the directory was replaced by a file")
	}
}

func BenchmarkStore(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nofsync"
		if sync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) {
			be, err := New(Config{Dir: b.TempDir(), NoFsync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			data := make([]byte, 512<<10)
			chunk := 16 << 10
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := storage.Key{StudyInstanceUID: "1.2", SeriesInstanceUID: "1.2.3", SOPInstanceUID: "1.2.3." + itoa(i)}
				o, err := be.Create(context.Background(), k)
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(data); off += chunk {
					o.Write(data[off : off+chunk])
				}
				if _, err := o.Commit(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// A study directory moved out of the storage directory (archived) keeps
// what it held; the next object of its series goes to the path its key
// names, where Commit says it is, not after the moved directory.
func TestCommitAfterStudyMovedAway(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	if _, err := store(t, b, key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "archived")
	if err := os.Rename(filepath.Join(dir, key.StudyInstanceUID), archive); err != nil {
		t.Fatal(err)
	}
	k2 := key
	k2.SOPInstanceUID = "1.2.3.4.6"
	res, err := store(t, b, k2, []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, filepath.FromSlash(k2.Path()))
	if res.Location != want {
		t.Fatalf("Location %s, want %s", res.Location, want)
	}
	if got, err := os.ReadFile(want); err != nil || string(got) != "two" {
		t.Fatalf("at %s: %q, %v", want, got, err)
	}
	moved := filepath.Join(archive, key.SeriesInstanceUID)
	if names, _ := os.ReadDir(moved); len(names) != 1 {
		t.Fatalf("the moved series directory holds %d files, want its 1", len(names))
	}
}

// A cached series directory that is removed behind the backend's back is
// recreated; many series exercise the eviction of cached directories.
func TestSeriesDirectoryCache(t *testing.T) {
	b, dir := newBackend(t, storage.Overwrite)
	if _, err := store(t, b, key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, key.StudyInstanceUID)); err != nil {
		t.Fatal(err)
	}
	k2 := key
	k2.SOPInstanceUID = "1.2.3.4.6"
	if _, err := store(t, b, k2, []byte("two")); err != nil {
		t.Fatalf("after the series directory was removed: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k2.Path()))); string(got) != "two" {
		t.Fatalf("stored %q", got)
	}
	b.dirs.mu.Lock()
	d := b.dirs.dirs[key.StudyInstanceUID+"/"+key.SeriesInstanceUID]
	b.dirs.mu.Unlock()
	if d == nil || d.refs != 0 {
		t.Fatalf("recreated series directory: %+v, want cached with no users", d)
	}
	for i := 0; i < 3*maxOpenDirs; i++ {
		k := storage.Key{StudyInstanceUID: "7.7", SeriesInstanceUID: "7.7." + itoa(i), SOPInstanceUID: "7.7.1." + itoa(i)}
		if _, err := store(t, b, k, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b.dirs.mu.Lock()
	n := len(b.dirs.dirs)
	b.dirs.mu.Unlock()
	if n > maxOpenDirs {
		t.Fatalf("%d directories open, limit %d", n, maxOpenDirs)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
