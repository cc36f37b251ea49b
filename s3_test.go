package dicomrecv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/s3test"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
	"github.com/dicomrecv/dicomrecv/storage"
)

func s3Config(s *s3test.Server, prefix string) *S3Config {
	return &S3Config{Bucket: s.Bucket, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Endpoint: s.Endpoint,
		Region: s3test.Region, Prefix: prefix, RetryDeadline: 3 * time.Second}
}

// DCMTK storescu sends the pydicom samples to a receiver writing to S3
// (versitygw) and to one writing to the filesystem: each object is at its
// key, byte-equal to the file.
func TestInteropS3SameBytesAsFilesystem(t *testing.T) {
	samples := loadSamples(t)
	s3 := s3test.Start(t)
	viaS3 := startServer(t, Config{StorageBackend: BackendS3, S3: s3Config(s3, "archive/")})
	viaFS := startServer(t, Config{})
	compared := 0
	for _, s := range samples {
		opt, ok := tsOption[s.meta.TransferSyntaxUID]
		if s.problem != "" || !ok || brokenSamples[s.name] != "" {
			continue
		}
		for _, ts := range []*testServer{viaS3, viaFS} {
			if rsp := testutil.StoreResponses(ts.storescu(t, []string{"-R", opt}, s.path)); len(rsp) != 1 || rsp[0] != "Success" {
				t.Fatalf("%s: responses %q", s.name, rsp)
			}
		}
		evS3, evFS := <-viaS3.storedCh, <-viaFS.storedCh
		key := storage.Key{StudyInstanceUID: evS3.StudyInstanceUID, SeriesInstanceUID: evS3.SeriesInstanceUID, SOPInstanceUID: evS3.SOPInstanceUID}
		if want := "s3://" + s3.Bucket + "/archive/" + key.Path(); evS3.File != want {
			t.Fatalf("%s: file %q, want %q", s.name, evS3.File, want)
		}
		obj, err := os.ReadFile(s3.ObjectPath("archive/" + key.Path()))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		file, err := os.ReadFile(evFS.File)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(obj, file) {
			t.Errorf("%s: the S3 object (%d bytes) differs from the stored file (%d bytes)", s.name, len(obj), len(file))
		}
		compared++
	}
	if compared < 50 {
		t.Fatalf("only %d samples compared", compared)
	}
	if up := s3.PendingUploads(t); len(up) != 0 {
		t.Fatalf("pending multipart uploads: %v", up)
	}
}

// The S3 server stopped mid-run: the objects that fail get 0xA700, the
// receiver stays up, and stores again once S3 is back.
func TestS3Outage(t *testing.T) {
	s3 := s3test.Start(t)
	ts := startServer(t, Config{StorageBackend: BackendS3, S3: s3Config(s3, "")})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	store := func(i int) uint16 {
		t.Helper()
		sop := fmt.Sprintf("1.2.11.%d", i)
		rsp, err := c.Store(1, ctImage, sop, testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.11", "1.2.11.1", bytes.Repeat([]byte{9, 9}, 1000))...))
		if err != nil {
			t.Fatal(err)
		}
		return rsp.Status
	}
	c.NC.SetDeadline(time.Now().Add(time.Minute))
	if st := store(1); st != dimse.StatusSuccess {
		t.Fatalf("before the outage: 0x%04X", st)
	}
	s3.Stop()
	if st := store(2); st != dimse.StatusOutOfResources {
		t.Fatalf("during the outage: 0x%04X, want 0xA700", st)
	}
	s3.Restart()
	var st uint16
	for i := 0; i < 20; i++ {
		if st = store(3); st == dimse.StatusSuccess {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st != dimse.StatusSuccess {
		t.Fatalf("after the outage: 0x%04X", st)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s3.ObjectPath("1.2.11/1.2.11.1/1.2.11.2.dcm")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the object that failed is visible: %v", err)
	}
}

// Start fails with a message naming the cause when the credentials are
// wrong, the bucket is missing or the endpoint is unreachable; the secret
// never appears in it.
func TestS3StartFailures(t *testing.T) {
	s3 := s3test.Start(t)
	for _, tc := range []struct {
		name string
		mod  func(*S3Config)
		want string
	}{
		{"wrong secret", func(c *S3Config) { c.SecretKey = "wrong-secret-key-123" }, "access denied"},
		{"missing bucket", func(c *S3Config) { c.Bucket = "no-such-bucket" }, "does not exist"},
		{"unreachable endpoint", func(c *S3Config) { c.Endpoint = "http://127.0.0.1:1" }, "cannot reach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := s3Config(s3, "")
			tc.mod(cfg)
			srv, err := New(Config{StorageBackend: BackendS3, S3: cfg})
			if err != nil {
				t.Fatal(err)
			}
			err = srv.Start()
			if err == nil {
				srv.Shutdown(t.Context())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), cfg.SecretKey) {
				t.Fatalf("error %q: want it to say %q and not show the secret", err, tc.want)
			}
		})
	}
}

// BenchmarkStoreS3VsFilesystem sends 0.5 MB objects over one association
// to a receiver writing to versitygw and to one writing to disk (no fsync).
//
//	go test -run '^$' -bench StoreS3VsFilesystem -benchtime 200x .
func BenchmarkStoreS3VsFilesystem(b *testing.B) {
	s3 := s3test.Start(b)
	pixels := bytes.Repeat([]byte{1, 2, 3, 4}, 128<<10)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"filesystem", Config{}},
		{"s3", Config{StorageBackend: BackendS3, S3: s3Config(s3, "bench/")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ts := startServer(b, bc.cfg)
			c, err := scutest.Associate(fmt.Sprintf("127.0.0.1:%d", ts.port), scutest.Options{Contexts: ctContext(1)})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.NC.SetDeadline(time.Now().Add(time.Hour))
			ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.12.1", "1.2.12", "1.2.12.1", pixels)...)
			b.SetBytes(int64(len(ds)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sop := fmt.Sprintf("1.2.12.%d", i)
				ds := testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.12", "1.2.12.1", pixels)...)
				rsp, err := c.Store(1, ctImage, sop, ds)
				if err != nil || rsp.Status != 0 {
					b.Fatalf("%v %+v", err, rsp)
				}
			}
		})
	}
}
