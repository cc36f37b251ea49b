package s3test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServerLifecycle starts a server, stores an object through the S3 API,
// finds it as a file, stops the server, and restarts it with the object
// still there.
func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()

	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	body := []byte("hello, versitygw")
	key := "a/b/c.dcm"
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := os.ReadFile(s.ObjectPath(key))
	if err != nil {
		t.Fatalf("object file: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("object file holds %q, want %q", got, body)
	}
	if ups := s.PendingUploads(t); len(ups) != 0 {
		t.Fatalf("pending uploads %v, want none", ups)
	}

	s.Stop()
	s.Stop() // idempotent
	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(s.Bucket)}); err == nil {
		t.Fatal("HeadBucket succeeded on a stopped server")
	}

	s.Restart()
	out, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HeadObject after restart: %v", err)
	}
	if n := aws.ToInt64(out.ContentLength); n != int64(len(body)) {
		t.Fatalf("ContentLength %d after restart, want %d", n, len(body))
	}
}

// TestServersAreIndependent checks that two servers get distinct ports,
// directories and credentials.
func TestServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	for _, c := range []struct{ name, a, b string }{
		{"Endpoint", a.Endpoint, b.Endpoint},
		{"Dir", a.Dir, b.Dir},
		{"SecretKey", a.SecretKey, b.SecretKey},
	} {
		if c.a == c.b {
			t.Errorf("%s is shared: %q", c.name, c.a)
		}
	}
	if fi, err := os.Stat(filepath.Join(a.Dir, a.Bucket)); err != nil || !fi.IsDir() {
		t.Errorf("bucket directory missing: %v", err)
	}
}

func TestModuleRoot(t *testing.T) {
	root, ok := moduleRoot()
	if !ok {
		t.Fatal("module root not found")
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s has no go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "s3test")); err != nil {
		t.Fatalf("%s is not this module's root: %v", root, err)
	}
}
