// Package s3test starts a real S3 server for tests: versitygw serving a
// temporary directory through its posix backend.
//
// Objects the server stores appear as plain files under Dir/Bucket/key, so a
// test can compare the bytes that landed. The binary is found, in order, at
// $DICOMRECV_VERSITYGW, at .bin/versitygw under the module root (the first
// directory upwards holding go.mod), or as versitygw on PATH; .ci/run builds it
// with
//
//	GOBIN=$PWD/.bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// When it is missing the test is skipped, or failed under CI
// (testutil.Missing).
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// EnvBinary names the environment variable that overrides where the
// versitygw binary is.
const EnvBinary = "DICOMRECV_VERSITYGW"

// Region is the region versitygw serves by default.
const Region = "us-east-1"

// startTimeout bounds how long Start and Restart wait for the server to
// answer HTTP.
const startTimeout = 20 * time.Second

// stopTimeout is how long Stop waits after SIGTERM before it kills.
const stopTimeout = 5 * time.Second

// Server is a running versitygw. Its exported fields are set by Start and
// must not be changed.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root account's credentials, random
	// for each server so tests can check they never leak into messages.
	AccessKey, SecretKey string
	// Bucket is a bucket that exists when Start returns.
	Bucket string
	// Dir is the posix backend's root: bucket b is the directory Dir/b and
	// an object k the file Dir/b/k.
	Dir string

	t    testing.TB
	bin  string
	addr string
	log  string // path of the server's combined output

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited

	clientOnce sync.Once
	client     *awss3.Client
	transport  *http.Transport
}

// Start starts versitygw on a free port of 127.0.0.1 with a fresh root
// directory and one bucket, waits until it answers, and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	dir := t.TempDir()
	s := &Server{
		AccessKey: "ak" + randomHex(t, 8),
		SecretKey: "sk" + randomHex(t, 20),
		Bucket:    "dicomrecv-test",
		Dir:       filepath.Join(dir, "root"),
		t:         t,
		bin:       bin,
		log:       filepath.Join(dir, "versitygw.log"),
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, s.Bucket), 0o755); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if s.transport != nil {
			s.transport.CloseIdleConnections()
		}
		if t.Failed() {
			if b, err := os.ReadFile(s.log); err == nil {
				t.Logf("versitygw output:\n%s", tail(b, 4096))
			}
		}
	})
	// A port found free may be taken before versitygw binds it: try a few.
	var err error
	for range 3 {
		s.addr, err = freeAddr()
		if err != nil {
			t.Fatalf("s3test: %v", err)
		}
		s.Endpoint = "http://" + s.addr
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("s3test: starting versitygw: %v", err)
	return nil
}

// Stop stops the server (SIGTERM, then SIGKILL after a few seconds). It is
// safe to call more than once; Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts a stopped server again on the same address and root
// directory, and waits until it answers. A running server is stopped first.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("s3test: restarting versitygw: %v", err)
	}
}

// ObjectPath returns the file under which the server stores key in Bucket.
func (s *Server) ObjectPath(key string) string {
	return filepath.Join(s.Dir, s.Bucket, filepath.FromSlash(key))
}

// Client returns an SDK client for the server (path-style, static
// credentials), for tests that inspect the bucket through the S3 API.
func (s *Server) Client() *awss3.Client {
	s.clientOnce.Do(func() {
		s.transport = &http.Transport{DisableKeepAlives: true}
		s.client = awss3.New(awss3.Options{
			Region:       Region,
			BaseEndpoint: aws.String(s.Endpoint),
			UsePathStyle: true,
			Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
			HTTPClient:   &http.Client{Transport: s.transport},
		})
	})
	return s.client
}

// PendingUploads lists the multipart uploads in progress in Bucket, as
// "key uploadId" strings.
func (s *Server) PendingUploads(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.Client().ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket)})
	if err != nil {
		t.Fatalf("s3test: ListMultipartUploads: %v", err)
	}
	var ups []string
	for _, u := range out.Uploads {
		ups = append(ups, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ups
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--port", s.addr, "posix", s.Dir)
	// A minimal environment: VGW_* variables of the caller must not change
	// the server under test.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ROOT_ACCESS_KEY=" + s.AccessKey,
		"ROOT_SECRET_KEY=" + s.SecretKey,
	}
	cmd.Stdout, cmd.Stderr = logf, logf // *os.File: no copying goroutines
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	if err := waitReady(s.Endpoint, done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	s.cmd, s.done = cmd, done
	return nil
}

// waitReady polls endpoint until it answers any HTTP response, the process
// exits, or startTimeout passes.
func waitReady(endpoint string, exited <-chan struct{}) error {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return errors.New("versitygw exited during start-up (see its output)")
		default:
		}
		resp, err := c.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer on %s within %v: %w", endpoint, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func findBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		testutil.RequireFile(t, p)
		return p
	}
	if root, ok := moduleRoot(); ok {
		p := filepath.Join(root, ".bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	testutil.Missing(t, "versitygw not found ($"+EnvBinary+", .bin/versitygw at the module root, or PATH)")
	return ""
}

// moduleRoot walks up from the working directory to the first directory
// holding go.mod.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
