package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/dicomrecv/dicomrecv/storage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testPart is the part size of the unit tests: tiny, so that many parts
// are cheap (the fake does not enforce S3's 5 MiB minimum).
const testPart = 16

const testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

var testKey = storage.Key{StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.4", SOPInstanceUID: "1.2.3.4.5"}

const testFullKey = "pre/1.2.3/1.2.3.4/1.2.3.4.5.dcm"

func newTestBackend(t testing.TB, f *fakeAPI, mod func(*Config)) *Backend {
	t.Helper()
	cfg := Config{Bucket: "bkt", Prefix: "pre", PartSize: testPart, minPartSize: 1,
		AccessKey: "AKIDEXAMPLE12345", SecretKey: testSecret}
	if mod != nil {
		mod(&cfg)
	}
	cfg, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(cfg, f)
	t.Cleanup(func() { b.Close() })
	return b
}

// pattern returns n bytes that differ with seed and position.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

func writeChunks(t testing.TB, w io.Writer, data []byte, chunk int) {
	t.Helper()
	for len(data) > 0 {
		k := min(chunk, len(data))
		n, err := w.Write(data[:k])
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if n != k {
			t.Fatalf("Write wrote %d of %d bytes", n, k)
		}
		data = data[k:]
	}
}

func TestObjectSizes(t *testing.T) {
	for _, size := range []int{0, 1, testPart - 1, testPart, testPart + 1, 2 * testPart, 2*testPart + 1, testPart*7/2 + 0, 50*testPart + 3} {
		for _, chunk := range []int{1, 5, testPart, 3*testPart + 5} {
			t.Run(fmt.Sprintf("size=%d/chunk=%d", size, chunk), func(t *testing.T) {
				f := newFake()
				b := newTestBackend(t, f, nil)
				o, err := b.Create(context.Background(), testKey)
				if err != nil {
					t.Fatal(err)
				}
				data := pattern(size, 1)
				writeChunks(t, o, data, chunk)
				res, err := o.Commit(context.Background())
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				want := storage.Result{Location: "s3://bkt/" + testFullKey, Bytes: int64(size)}
				if diff := cmp.Diff(want, res); diff != "" {
					t.Errorf("Result (-want +got):\n%s", diff)
				}
				got, ok := f.object(testFullKey)
				if !ok || !bytes.Equal(got, data) {
					t.Fatalf("stored %d bytes (present %v), want the %d written", len(got), ok, size)
				}
				wantParts := 0
				if size > testPart {
					wantParts = (size + testPart - 1) / testPart
				}
				calls := map[string]int{
					"PutObject":               f.count("PutObject"),
					"CreateMultipartUpload":   f.count("CreateMultipartUpload"),
					"UploadPart":              f.count("UploadPart"),
					"CompleteMultipartUpload": f.count("CompleteMultipartUpload"),
				}
				wantCalls := map[string]int{"PutObject": 1}
				if wantParts > 0 {
					wantCalls = map[string]int{"CreateMultipartUpload": 1, "UploadPart": wantParts, "CompleteMultipartUpload": 1}
				}
				wantCalls = fillZero(wantCalls, calls)
				if diff := cmp.Diff(wantCalls, calls); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
				if p := f.pending(); len(p) != 0 {
					t.Errorf("uploads left pending: %v", p)
				}
			})
		}
	}
}

func fillZero(want, got map[string]int) map[string]int {
	for k := range got {
		if _, ok := want[k]; !ok {
			want[k] = 0
		}
	}
	return want
}

// TestBoundedBuffers checks that a writer never gets more than
// MaxBufferedParts part buffers ahead of the uploads: with uploads held by
// a gate, the bytes accepted by Write stay within
// (completed uploads + MaxBufferedParts) * PartSize.
func TestBoundedBuffers(t *testing.T) {
	for _, maxBuf := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("maxBufferedParts=", maxBuf), func(t *testing.T) {
			f := newFake()
			f.gate = make(chan struct{})
			f.entered = make(chan int32)
			b := newTestBackend(t, f, func(c *Config) { c.MaxBufferedParts = maxBuf })
			o, err := b.Create(context.Background(), testKey)
			if err != nil {
				t.Fatal(err)
			}
			const parts = 12
			data := pattern(parts*testPart, 2)
			var written atomic.Int64
			done := make(chan error, 1)
			go func() {
				for i := 0; i < len(data); i += 4 {
					if _, err := o.Write(data[i : i+4]); err != nil {
						done <- err
						return
					}
					written.Add(4)
				}
				_, err := o.Commit(context.Background())
				done <- err
			}()
			for completed := 0; completed < parts; completed++ {
				<-f.entered // an upload is in flight; the writer may run ahead
				if w, limit := written.Load(), int64(completed+maxBuf)*testPart; w > limit {
					t.Fatalf("after %d completed uploads Write accepted %d bytes, more than %d", completed, w, limit)
				}
				f.gate <- struct{}{}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if f.maxIn > maxBuf {
				t.Errorf("%d part uploads ran at once, more than %d", f.maxIn, maxBuf)
			}
			if got, _ := f.object(testFullKey); !bytes.Equal(got, data) {
				t.Error("stored bytes differ")
			}
		})
	}
}

func TestAbort(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		wantAbort int
	}{
		{"nothing written", 0, 0},
		{"single part", testPart, 0},
		{"multipart", 3*testPart + 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			b := newTestBackend(t, f, nil)
			o, err := b.Create(context.Background(), testKey)
			if err != nil {
				t.Fatal(err)
			}
			writeChunks(t, o, pattern(tc.size, 3), 7)
			if err := o.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if err := o.Abort(); err != nil {
				t.Fatalf("second Abort: %v", err)
			}
			if _, ok := f.object(testFullKey); ok {
				t.Error("object visible after Abort")
			}
			if p := f.pending(); len(p) != 0 {
				t.Errorf("uploads left pending: %v", p)
			}
			if n := f.count("PutObject"); n != 0 {
				t.Errorf("%d PutObject calls, want none", n)
			}
			if n := f.count("AbortMultipartUpload"); n != tc.wantAbort {
				t.Errorf("%d AbortMultipartUpload calls, want %d", n, tc.wantAbort)
			}
			if _, err := o.Write([]byte{1}); !errors.Is(err, ErrFinished) {
				t.Errorf("Write after Abort: %v, want ErrFinished", err)
			}
			if _, err := o.Commit(context.Background()); !errors.Is(err, ErrFinished) {
				t.Errorf("Commit after Abort: %v, want ErrFinished", err)
			}
		})
	}
}

// TestAbortRepeatsWhilePartsSurvive: when ListParts still finds the upload
// after an abort (a part that was uploading when the abort arrived), the
// abort is sent again.
func TestAbortRepeatsWhilePartsSurvive(t *testing.T) {
	f := newFake()
	var aborts atomic.Int32
	f.hook = func(op string, in any) error {
		if op == "AbortMultipartUpload" && aborts.Add(1) == 1 {
			return errSkip // "succeeds" but leaves the upload in place
		}
		return nil
	}
	b := newTestBackend(t, f, nil)
	o, _ := b.Create(context.Background(), testKey)
	writeChunks(t, o, pattern(2*testPart+1, 4), 8)
	if err := o.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if n := aborts.Load(); n != 2 {
		t.Errorf("%d abort calls, want 2", n)
	}
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
}

// errSkip makes a hooked fake call return success without doing anything.
var errSkip = errors.New("skip")

func TestPartFailure(t *testing.T) {
	f := newFake()
	f.hook = func(op string, in any) error {
		if op == "UploadPart" {
			return apiError("UploadPart", 403, "AccessDenied", nil)
		}
		return nil
	}
	b := newTestBackend(t, f, func(c *Config) { c.MaxBufferedParts = 1 })
	o, _ := b.Create(context.Background(), testKey)
	data := pattern(10*testPart, 5)
	var werr error
	for i := 0; i < len(data) && werr == nil; i += testPart {
		_, werr = o.Write(data[i : i+testPart])
	}
	if werr == nil {
		t.Fatal("every Write succeeded though all part uploads failed")
	}
	if _, err := o.Write([]byte{1}); err == nil || err.Error() != werr.Error() {
		t.Errorf("Write after failure: %v, want the same error %v", err, werr)
	}
	_, err := o.Commit(context.Background())
	if err == nil {
		t.Fatal("Commit succeeded")
	}
	if !strings.Contains(err.Error(), "uploading part 1") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("Commit error %q does not say which part failed and why", err)
	}
	if _, ok := f.object(testFullKey); ok {
		t.Error("object visible after a failed Commit")
	}
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
	if n := f.count("CompleteMultipartUpload"); n != 0 {
		t.Errorf("CompleteMultipartUpload called %d times", n)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		op        string
		size      int
		wantWrite bool // the failure shows in Write, not only Commit
	}{
		{"CreateMultipartUpload", 3 * testPart, true},
		{"CompleteMultipartUpload", 3 * testPart, false},
		{"PutObject", testPart, false},
	} {
		t.Run(tc.op, func(t *testing.T) {
			f := newFake()
			f.hook = func(op string, in any) error {
				if op == tc.op {
					return apiError(op, 500, "InternalError", nil)
				}
				return nil
			}
			b := newTestBackend(t, f, nil)
			o, _ := b.Create(context.Background(), testKey)
			data := pattern(tc.size, 6)
			_, werr := o.Write(data)
			if (werr != nil) != tc.wantWrite {
				t.Errorf("Write error %v, want error: %v", werr, tc.wantWrite)
			}
			_, err := o.Commit(context.Background())
			if err == nil || !strings.Contains(err.Error(), "InternalError") {
				t.Errorf("Commit error %v, want the store's", err)
			}
			if _, ok := f.object(testFullKey); ok {
				t.Error("object visible after a failed Commit")
			}
			if p := f.pending(); len(p) != 0 {
				t.Errorf("uploads left pending: %v", p)
			}
		})
	}
}

func TestCommitContextCancelled(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}) // parts never finish on their own
	b := newTestBackend(t, f, nil)
	o, _ := b.Create(context.Background(), testKey)
	writeChunks(t, o, pattern(testPart+1, 7), testPart+1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit: %v, want context.Canceled", err)
	}
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
}

func TestTooLarge(t *testing.T) {
	f := newFake()
	b := newTestBackend(t, f, nil)
	o, _ := b.Create(context.Background(), testKey)
	chunk := pattern(100*testPart, 8)
	var err error
	for i := 0; i <= MaxParts/100 && err == nil; i++ {
		_, err = o.Write(chunk)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Write: %v, want ErrTooLarge", err)
	}
	if _, err := o.Commit(context.Background()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Commit: %v, want ErrTooLarge", err)
	}
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
}

func TestDuplicatePolicies(t *testing.T) {
	type outcome struct {
		Err       bool
		Duplicate bool
		Stored    byte // seed of the bytes stored at the end
	}
	for _, tc := range []struct {
		name   string
		policy storage.DuplicatePolicy
		mod    func(*Config, *fakeAPI)
		want   outcome
		heads  int // HeadObject calls for the second object
	}{
		{"overwrite", storage.Overwrite, nil, outcome{Stored: 2}, 0},
		{"overwrite/report", storage.Overwrite, func(c *Config, _ *fakeAPI) { c.ReportOverwrites = true }, outcome{Duplicate: true, Stored: 2}, 1},
		{"keep", storage.Keep, nil, outcome{Duplicate: true, Stored: 1}, 0},
		{"reject", storage.Reject, nil, outcome{Err: true, Stored: 1}, 0},
		{"keep/no conditional writes", storage.Keep, func(c *Config, f *fakeAPI) {
			c.DisableConditionalWrites = true
			f.noConditional = true
		}, outcome{Duplicate: true, Stored: 1}, 1},
		{"reject/no conditional writes", storage.Reject, func(c *Config, f *fakeAPI) {
			c.DisableConditionalWrites = true
			f.noConditional = true
		}, outcome{Err: true, Stored: 1}, 1},
	} {
		for _, size := range []int{testPart / 2, 3*testPart + 2} {
			t.Run(fmt.Sprintf("%s/size=%d", tc.name, size), func(t *testing.T) {
				f := newFake()
				b := newTestBackend(t, f, func(c *Config) {
					c.Duplicate = tc.policy
					if tc.mod != nil {
						tc.mod(c, f)
					}
				})
				store := func(seed byte) (storage.Result, error) {
					o, err := b.Create(context.Background(), testKey)
					if err != nil {
						t.Fatal(err)
					}
					writeChunks(t, o, pattern(size, seed), 5)
					return o.Commit(context.Background())
				}
				if res, err := store(1); err != nil || res.Duplicate {
					t.Fatalf("first Commit: %+v, %v", res, err)
				}
				heads := f.count("HeadObject")
				res, err := store(2)
				if tc.want.Err != (err != nil) || (err != nil && !errors.Is(err, storage.ErrDuplicate)) {
					t.Errorf("second Commit error %v, want ErrDuplicate: %v", err, tc.want.Err)
				}
				got := outcome{Err: err != nil, Duplicate: res.Duplicate}
				stored, _ := f.object(testFullKey)
				switch {
				case bytes.Equal(stored, pattern(size, 1)):
					got.Stored = 1
				case bytes.Equal(stored, pattern(size, 2)):
					got.Stored = 2
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
				if n := f.count("HeadObject") - heads; n != tc.heads {
					t.Errorf("%d HeadObject calls for the second object, want %d", n, tc.heads)
				}
				if p := f.pending(); len(p) != 0 {
					t.Errorf("uploads left pending: %v", p)
				}
			})
		}
	}
}

// TestConcurrentCommits stores the same key from many objects at once:
// under Keep and Reject exactly one wins.
func TestConcurrentCommits(t *testing.T) {
	for _, policy := range []storage.DuplicatePolicy{storage.Keep, storage.Reject} {
		for _, size := range []int{testPart / 2, 3 * testPart} {
			t.Run(fmt.Sprintf("%v/size=%d", policy, size), func(t *testing.T) {
				f := newFake()
				b := newTestBackend(t, f, func(c *Config) { c.Duplicate = policy })
				const n = 8
				type res struct {
					r   storage.Result
					err error
				}
				results := make([]res, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						o, err := b.Create(context.Background(), testKey)
						if err != nil {
							results[i].err = err
							return
						}
						if _, err := o.Write(pattern(size, byte(i))); err != nil {
							results[i].err = err
							return
						}
						results[i].r, results[i].err = o.Commit(context.Background())
					})
				}
				wg.Wait()
				winners := 0
				var winner int
				for i, r := range results {
					switch {
					case r.err == nil && !r.r.Duplicate:
						winners++
						winner = i
					case policy == storage.Keep && r.err == nil && r.r.Duplicate:
					case policy == storage.Reject && errors.Is(r.err, storage.ErrDuplicate):
					default:
						t.Errorf("object %d: %+v, %v", i, r.r, r.err)
					}
				}
				if winners != 1 {
					t.Fatalf("%d winners, want 1", winners)
				}
				if got, _ := f.object(testFullKey); !bytes.Equal(got, pattern(size, byte(winner))) {
					t.Error("stored bytes are not the winner's")
				}
				if p := f.pending(); len(p) != 0 {
					t.Errorf("uploads left pending: %v", p)
				}
			})
		}
	}
}

func TestConditionalWriteErrors(t *testing.T) {
	t.Run("conflict is retried", func(t *testing.T) {
		f := newFake()
		var conflicts atomic.Int32
		f.hook = func(op string, in any) error {
			if op == "PutObject" && conflicts.Add(1) <= 2 {
				return apiError(op, 409, "ConditionalRequestConflict", nil)
			}
			return nil
		}
		b := newTestBackend(t, f, func(c *Config) { c.Duplicate = storage.Reject })
		o, _ := b.Create(context.Background(), testKey)
		o.Write([]byte("abc"))
		if _, err := o.Commit(context.Background()); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if n := f.count("PutObject"); n != 3 {
			t.Errorf("%d PutObject calls, want 3", n)
		}
	})
	t.Run("not implemented", func(t *testing.T) {
		f := newFake()
		f.hook = func(op string, in any) error {
			if op == "CompleteMultipartUpload" {
				return apiError(op, 501, "NotImplemented", nil)
			}
			return nil
		}
		b := newTestBackend(t, f, func(c *Config) { c.Duplicate = storage.Keep })
		o, _ := b.Create(context.Background(), testKey)
		o.Write(pattern(2*testPart, 9))
		_, err := o.Commit(context.Background())
		if !errors.Is(err, ErrConditionalWrites) || !strings.Contains(err.Error(), "disableConditionalWrites") {
			t.Fatalf("Commit: %v, want ErrConditionalWrites with a hint", err)
		}
		if p := f.pending(); len(p) != 0 {
			t.Errorf("uploads left pending: %v", p)
		}
	})
}

func TestClose(t *testing.T) {
	f := newFake()
	b := newTestBackend(t, f, func(c *Config) { c.ReportOverwrites = true })
	open, _ := b.Create(context.Background(), testKey)
	writeChunks(t, open, pattern(3*testPart+1, 10), 7) // multipart started
	small, _ := b.Create(context.Background(), storage.Key{StudyInstanceUID: "1", SeriesInstanceUID: "2", SOPInstanceUID: "3"})
	small.Write([]byte("x"))
	done, _ := b.Create(context.Background(), storage.Key{StudyInstanceUID: "1", SeriesInstanceUID: "2", SOPInstanceUID: "4"})
	done.Write([]byte("y"))
	if _, err := done.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	goleak.VerifyNone(t) // no part upload or probe outlives Close
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
	for _, o := range []storage.Object{open, small} {
		if _, err := o.Write([]byte{1}); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Close: %v, want ErrClosed", err)
		}
		if _, err := o.Commit(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Commit after Close: %v, want ErrClosed", err)
		}
		if err := o.Abort(); err != nil {
			t.Errorf("Abort after Close: %v", err)
		}
	}
	if _, err := b.Create(context.Background(), testKey); !errors.Is(err, ErrClosed) {
		t.Errorf("Create after Close: %v, want ErrClosed", err)
	}
	if err := b.Check(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Check after Close: %v, want ErrClosed", err)
	}
	if _, ok := f.object("pre/1/2/4.dcm"); !ok {
		t.Error("committed object missing")
	}
}

// TestCloseDuringWrite closes the backend while a Write waits for a part
// slot: the Write returns an error and no upload is left.
func TestCloseDuringWrite(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}) // uploads hang until cancelled
	f.entered = make(chan int32, 16)
	b := newTestBackend(t, f, func(c *Config) { c.MaxBufferedParts = 1 })
	o, _ := b.Create(context.Background(), testKey)
	errc := make(chan error, 1)
	go func() {
		_, err := o.Write(pattern(5*testPart, 11))
		errc <- err
	}()
	<-f.entered // the writer now waits for that part
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; err == nil {
		t.Fatal("Write succeeded across Close")
	}
	goleak.VerifyNone(t)
	if p := f.pending(); len(p) != 0 {
		t.Errorf("uploads left pending: %v", p)
	}
}

func TestCreateRefusesInvalidKey(t *testing.T) {
	b := newTestBackend(t, newFake(), nil)
	_, err := b.Create(context.Background(), storage.Key{StudyInstanceUID: "1.2", SeriesInstanceUID: "../x", SOPInstanceUID: "3"})
	if !errors.Is(err, storage.ErrInvalidUID) {
		t.Fatalf("Create: %v, want ErrInvalidUID", err)
	}
}

// TestErrorsHideSecret makes the store echo the credentials in its error
// messages: our error text must not carry them.
func TestErrorsHideSecret(t *testing.T) {
	f := newFake()
	f.hook = func(op string, in any) error {
		return fmt.Errorf("store says: bad key AKIDEXAMPLE12345 / secret %s", testSecret)
	}
	b := newTestBackend(t, f, nil)
	o, _ := b.Create(context.Background(), testKey)
	_, werr := o.Write(pattern(2*testPart, 12))
	_, cerr := o.Commit(context.Background())
	for _, err := range []error{werr, cerr, b.Check(context.Background())} {
		if err == nil {
			t.Fatal("no error")
		}
		if s := err.Error(); strings.Contains(s, testSecret) || strings.Contains(s, "AKIDEXAMPLE12345") {
			t.Errorf("error shows a credential: %s", s)
		}
	}
}
