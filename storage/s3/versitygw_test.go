package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dicomrecv/dicomrecv/internal/s3test"
	"github.com/dicomrecv/dicomrecv/storage"
)

// These tests run against a real versitygw (internal/s3test). versitygw
// enforces S3's 5 MiB minimum part size, so they use MinPartSize.

const vgwPart = MinPartSize

func newVGW(t testing.TB, srv *s3test.Server, mod func(*Config)) *Backend {
	t.Helper()
	cfg := Config{Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Endpoint: srv.Endpoint, PartSize: vgwPart}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func keyN(n int) storage.Key {
	return storage.Key{StudyInstanceUID: "1.2.826.0.1", SeriesInstanceUID: "1.2.826.0.1.2", SOPInstanceUID: fmt.Sprintf("1.2.826.0.1.2.%d", n)}
}

// store writes data in chunks and commits.
func store(t testing.TB, b *Backend, key storage.Key, data []byte, chunk int) (storage.Result, error) {
	t.Helper()
	o, err := b.Create(context.Background(), key)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	writeChunks(t, o, data, chunk)
	return o.Commit(context.Background())
}

func checkStored(t testing.TB, srv *s3test.Server, key string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(srv.ObjectPath(key))
	if err != nil {
		t.Fatalf("stored object: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stored object has %d bytes differing from the %d written", len(got), len(want))
	}
}

func checkAbsent(t testing.TB, srv *s3test.Server, key string) {
	t.Helper()
	if _, err := os.Stat(srv.ObjectPath(key)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("object %s exists (stat: %v)", key, err)
	}
	if ups := srv.PendingUploads(t); len(ups) != 0 {
		t.Errorf("multipart uploads left: %v", ups)
	}
}

func TestVersitygwSizes(t *testing.T) {
	srv := s3test.Start(t)
	b := newVGW(t, srv, func(c *Config) { c.Prefix = "dicom/in" })
	for i, tc := range []struct {
		size, chunk int
	}{
		{0, 1},
		{1000, 16 << 10},
		{vgwPart, 64 << 10},
		{vgwPart + 1, 64 << 10},
		{vgwPart*7/2 + 0, 64 << 10},
		{vgwPart*7/2 + 0, 16381}, // writes straddle part boundaries
	} {
		t.Run(fmt.Sprintf("size=%d/chunk=%d", tc.size, tc.chunk), func(t *testing.T) {
			key := keyN(i)
			full := "dicom/in/" + key.Path()
			data := pattern(tc.size, byte(i))
			res, err := store(t, b, key, data, tc.chunk)
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			want := storage.Result{Location: "s3://" + srv.Bucket + "/" + full, Bytes: int64(tc.size)}
			if res != want {
				t.Errorf("Result %+v, want %+v", res, want)
			}
			checkStored(t, srv, full, data)
			if ups := srv.PendingUploads(t); len(ups) != 0 {
				t.Errorf("multipart uploads left: %v", ups)
			}
			out, err := srv.Client().HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(full)})
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			if ct := aws.ToString(out.ContentType); ct != contentType {
				t.Errorf("Content-Type %q, want %q", ct, contentType)
			}
		})
	}
}

func TestVersitygwAbort(t *testing.T) {
	srv := s3test.Start(t)
	b := newVGW(t, srv, nil)
	for i, size := range []int{100, 2*vgwPart + 5} {
		key := keyN(i)
		o, err := b.Create(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, o, pattern(size, 1), 64<<10)
		if size > vgwPart && len(srv.PendingUploads(t)) != 1 {
			t.Fatalf("no multipart upload in progress before Abort")
		}
		if err := o.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		checkAbsent(t, srv, key.Path())
	}
}

func TestVersitygwDuplicates(t *testing.T) {
	srv := s3test.Start(t)
	sizes := []int{1000, vgwPart + 1000}
	for _, tc := range []struct {
		name        string
		mod         func(*Config)
		wantErr     bool
		wantDup     bool
		wantStored  byte
		concurrency bool
	}{
		{"overwrite", nil, false, false, 2, false},
		{"overwrite/report", func(c *Config) { c.ReportOverwrites = true }, false, true, 2, false},
		{"keep", func(c *Config) { c.Duplicate = storage.Keep }, false, true, 1, true},
		{"reject", func(c *Config) { c.Duplicate = storage.Reject }, true, false, 1, true},
		{"keep/head fallback", func(c *Config) { c.Duplicate = storage.Keep; c.DisableConditionalWrites = true }, false, true, 1, false},
		{"reject/head fallback", func(c *Config) { c.Duplicate = storage.Reject; c.DisableConditionalWrites = true }, true, false, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newVGW(t, srv, func(c *Config) {
				c.Prefix = strings.ReplaceAll(tc.name, "/", "-")
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			for i, size := range sizes {
				key := keyN(i)
				full := b.cfg.Prefix + key.Path()
				if res, err := store(t, b, key, pattern(size, 1), 64<<10); err != nil || res.Duplicate {
					t.Fatalf("first Commit: %+v, %v", res, err)
				}
				res, err := store(t, b, key, pattern(size, 2), 64<<10)
				if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, storage.ErrDuplicate)) {
					t.Errorf("size %d: second Commit error %v, want ErrDuplicate: %v", size, err, tc.wantErr)
				}
				if res.Duplicate != tc.wantDup {
					t.Errorf("size %d: Duplicate %v, want %v", size, res.Duplicate, tc.wantDup)
				}
				checkStored(t, srv, full, pattern(size, tc.wantStored))
				if ups := srv.PendingUploads(t); len(ups) != 0 {
					t.Errorf("multipart uploads left: %v", ups)
				}
			}
			if !tc.concurrency {
				return
			}
			// Several objects race for one new key: exactly one wins.
			for i, size := range sizes {
				key := keyN(100 + i)
				const n = 4
				errs := make([]error, n)
				results := make([]storage.Result, n)
				objs := make([]storage.Object, n)
				for j := range objs {
					o, err := b.Create(context.Background(), key)
					if err != nil {
						t.Fatal(err)
					}
					writeChunks(t, o, pattern(size, byte(10+j)), 64<<10)
					objs[j] = o
				}
				var wg sync.WaitGroup
				for j, o := range objs {
					wg.Go(func() { results[j], errs[j] = o.Commit(context.Background()) })
				}
				wg.Wait()
				winner := -1
				for j := range objs {
					switch {
					case errs[j] == nil && !results[j].Duplicate:
						if winner >= 0 {
							t.Errorf("size %d: objects %d and %d both won", size, winner, j)
						}
						winner = j
					case tc.wantErr && errors.Is(errs[j], storage.ErrDuplicate):
					case !tc.wantErr && errs[j] == nil && results[j].Duplicate:
					default:
						t.Errorf("size %d: object %d: %+v, %v", size, j, results[j], errs[j])
					}
				}
				if winner < 0 {
					t.Fatalf("size %d: no object won", size)
				}
				checkStored(t, srv, b.cfg.Prefix+key.Path(), pattern(size, byte(10+winner)))
				if ups := srv.PendingUploads(t); len(ups) != 0 {
					t.Errorf("multipart uploads left: %v", ups)
				}
			}
		})
	}
}

// TestVersitygwServerDown stops the server in the middle of objects: the
// objects fail with an error, abort cleanly once the server is back, and
// new objects store fine.
func TestVersitygwServerDown(t *testing.T) {
	srv := s3test.Start(t)
	// A short deadline, so that the outage is noticed soon, yet long
	// enough for a 5 MiB part on a loaded test machine.
	b := newVGW(t, srv, func(c *Config) { c.RetryDeadline = 6 * time.Second })

	t.Run("multipart", func(t *testing.T) {
		key := keyN(1)
		o, err := b.Create(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, o, pattern(vgwPart+1, 1), 64<<10) // part 1 on its way
		srv.Stop()
		chunk := pattern(64<<10, 2)
		var werr error
		for i := 0; i < 10*vgwPart/len(chunk) && werr == nil; i++ {
			_, werr = o.Write(chunk)
		}
		if werr == nil {
			t.Fatal("Write kept succeeding with the server stopped")
		}
		if err := b.Check(context.Background()); !errors.Is(err, ErrUnreachable) {
			t.Errorf("Check with the server stopped: %v, want ErrUnreachable", err)
		}
		srv.Restart()
		if _, err := o.Commit(context.Background()); err == nil {
			t.Fatal("Commit succeeded after a failed part")
		}
		checkAbsent(t, srv, key.Path())
	})

	t.Run("single", func(t *testing.T) {
		key := keyN(2)
		o, err := b.Create(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, o, pattern(1000, 3), 100)
		srv.Stop()
		_, err = o.Commit(context.Background())
		if err == nil {
			t.Fatal("Commit succeeded with the server stopped")
		}
		if !strings.Contains(err.Error(), "connect") {
			t.Errorf("Commit error %q does not say the connection failed", err)
		}
		srv.Restart()
		checkAbsent(t, srv, key.Path())
	})

	t.Run("after restart", func(t *testing.T) {
		if err := b.Check(context.Background()); err != nil {
			t.Fatalf("Check: %v", err)
		}
		for i, size := range []int{1000, 2*vgwPart + 1} {
			data := pattern(size, 4)
			if _, err := store(t, b, keyN(10+i), data, 64<<10); err != nil {
				t.Fatalf("Commit after restart: %v", err)
			}
			checkStored(t, srv, keyN(10+i).Path(), data)
		}
	})
}

// TestVersitygwClose closes the backend with an object in the middle of a
// multipart upload: the upload is aborted.
func TestVersitygwClose(t *testing.T) {
	srv := s3test.Start(t)
	b := newVGW(t, srv, nil)
	o, err := b.Create(context.Background(), keyN(1))
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, o, pattern(2*vgwPart+1, 1), 64<<10)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkAbsent(t, srv, keyN(1).Path())
	if _, err := o.Commit(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v, want ErrClosed", err)
	}
}

func TestVersitygwNewErrors(t *testing.T) {
	srv := s3test.Start(t)
	base := Config{Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Endpoint: srv.Endpoint}
	const wrongSecret = "this-is-the-wrong-secret-0123456789"
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		kind    error
		mention []string
	}{
		{"wrong secret", func(c *Config) { c.SecretKey = wrongSecret }, ErrAccessDenied,
			[]string{`access denied for bucket "` + srv.Bucket + `"`, "accessKey/secretKey"}},
		{"unknown access key", func(c *Config) { c.AccessKey = "nobody-at-all" }, ErrAccessDenied,
			[]string{"access denied", "accessKey/secretKey"}},
		{"missing bucket", func(c *Config) { c.Bucket = "no-such-bucket" }, ErrBucketNotFound,
			[]string{`bucket "no-such-bucket" does not exist`, srv.Endpoint}},
		{"wrong region", func(c *Config) { c.Region = "eu-west-1" }, nil,
			[]string{"refused the request", `region "eu-west-1"`}},
		{"unreachable endpoint", func(c *Config) { c.Endpoint = "http://127.0.0.1:1" }, ErrUnreachable,
			[]string{"cannot reach endpoint http://127.0.0.1:1", "refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			b, err := New(context.Background(), cfg)
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			t.Logf("New: %v", err)
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("New: %v, want %v", err, tc.kind)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			// No credential in the message, nor in any error it wraps.
			for _, e := range errorChain(err) {
				for _, sec := range []string{srv.SecretKey, wrongSecret, srv.AccessKey} {
					if strings.Contains(e.Error(), sec) {
						t.Errorf("error text shows a credential: %q", e.Error())
					}
				}
			}
		})
	}
}

// errorChain returns err and every error it wraps.
func errorChain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, errorChain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, errorChain(e)...)
		}
	}
	return out
}
