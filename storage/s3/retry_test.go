package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/storage"
)

// These tests run the real SDK client against a fake HTTP transport, to
// check what goes on the wire and how retries and S3 errors are handled,
// without a server.

// fakeRT answers S3 requests through reply, recording every attempt.
type fakeRT struct {
	mu       sync.Mutex
	attempts map[string]int
	bodies   map[string][][]byte
	headers  map[string][]http.Header
	// reply answers attempt n (from 1) of op; nil means the default
	// success answer.
	reply func(op string, n int, req *http.Request) (*http.Response, error)
}

func newFakeRT(reply func(op string, n int, req *http.Request) (*http.Response, error)) *fakeRT {
	return &fakeRT{attempts: map[string]int{}, bodies: map[string][][]byte{}, headers: map[string][]http.Header{}, reply: reply}
}

// opOf names the S3 operation of a request to bucket "bkt".
func opOf(r *http.Request) string {
	q := r.URL.Query()
	onBucket := strings.Trim(r.URL.Path, "/") == "bkt"
	switch {
	case r.Method == http.MethodHead && onBucket:
		return "HeadBucket"
	case r.Method == http.MethodGet && onBucket:
		return "ListObjectsV2"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete:
		return "AbortMultipartUpload"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "ListParts"
	}
	return r.Method + " " + r.URL.String()
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	op := opOf(r)
	f.mu.Lock()
	f.attempts[op]++
	n := f.attempts[op]
	f.bodies[op] = append(f.bodies[op], body)
	f.headers[op] = append(f.headers[op], r.Header.Clone())
	f.mu.Unlock()
	if f.reply != nil {
		resp, err := f.reply(op, n, r)
		if resp != nil || err != nil {
			if resp != nil {
				resp.Request = r
			}
			return resp, err
		}
	}
	resp := defaultReply(op)
	resp.Request = r
	return resp, nil
}

func (f *fakeRT) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[op]
}

func response(status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: header,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), ProtoMajor: 1, ProtoMinor: 1}
}

func errorReply(status int, code string) *http.Response {
	return response(status, http.Header{"Content-Type": {"application/xml"}},
		fmt.Sprintf("<Error><Code>%s</Code><Message>%s happened</Message><RequestId>r1</RequestId></Error>", code, code))
}

func defaultReply(op string) *http.Response {
	switch op {
	case "CreateMultipartUpload":
		return response(200, nil, "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>")
	case "UploadPart":
		return response(200, http.Header{"Etag": {`"e"`}}, "")
	case "CompleteMultipartUpload":
		return response(200, nil, "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>")
	case "AbortMultipartUpload":
		return response(204, nil, "")
	case "ListParts":
		return errorReply(404, "NoSuchUpload")
	case "HeadObject":
		return response(404, nil, "")
	}
	return response(200, nil, "")
}

// newRTBackend builds a Backend through New over rt.
func newRTBackend(t *testing.T, rt *fakeRT, mod func(*Config)) *Backend {
	t.Helper()
	cfg := Config{Bucket: "bkt", AccessKey: "AKIDEXAMPLE12345", SecretKey: testSecret, Endpoint: "http://s3.test",
		HTTPClient: &http.Client{Transport: rt}, RetryDeadline: 10 * time.Second, PartSize: testPart, minPartSize: 1}
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

func commitBytes(t *testing.T, b *Backend, data []byte) (storage.Result, error) {
	t.Helper()
	o, err := b.Create(context.Background(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write(data); err != nil {
		o.Abort()
		return storage.Result{}, err
	}
	return o.Commit(context.Background())
}

// TestWireFormat checks the headers of a PutObject and an UploadPart: our
// CRC-32 (signed), no aws-chunked encoding, no SDK checksum of its own, the
// DICOM content type, and a SHA-256 payload signature over plain HTTP only
// (over HTTPS the SDK sends UNSIGNED-PAYLOAD: TLS protects the body).
func TestWireFormat(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			rt := newFakeRT(nil)
			b := newRTBackend(t, rt, func(c *Config) { c.Endpoint = scheme + "://s3.test" })
			for _, data := range [][]byte{[]byte("DICM and more"), pattern(2*testPart, 1)} {
				if _, err := commitBytes(t, b, data); err != nil {
					t.Fatal(err)
				}
			}
			for _, op := range []string{"PutObject", "UploadPart"} {
				h, body := rt.headers[op][0], rt.bodies[op][0]
				want := map[string]string{
					"X-Amz-Checksum-Crc32":         crcBase64(crc32.ChecksumIEEE(body)),
					"Content-Encoding":             "",
					"X-Amz-Trailer":                "",
					"X-Amz-Sdk-Checksum-Algorithm": "",
				}
				if op == "PutObject" {
					want["Content-Type"] = contentType
				}
				for name, v := range want {
					if got := h.Get(name); got != v {
						t.Errorf("%s %s: %q, want %q", op, name, got, v)
					}
				}
				sha := h.Get("X-Amz-Content-Sha256")
				if scheme == "http" && len(sha) != 64 {
					t.Errorf("%s X-Amz-Content-Sha256 %q, want a payload hash", op, sha)
				}
				if scheme == "https" && sha != "UNSIGNED-PAYLOAD" {
					t.Errorf("%s X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", op, sha)
				}
				if auth := h.Get("Authorization"); !strings.Contains(auth, "x-amz-checksum-crc32") {
					t.Errorf("%s: the CRC header is not signed: %q", op, auth)
				}
			}
			if got := rt.bodies["PutObject"][0]; !bytes.Equal(got, []byte("DICM and more")) {
				t.Errorf("PutObject body %q", got)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tc := range []struct {
		name     string
		op       string
		size     int
		fail     func(n int) (*http.Response, error) // attempt n of op
		deadline time.Duration
		wantErr  string // "" for success
		attempts int    // of op; 0: more than one
	}{
		{"503 then success", "PutObject", 10,
			func(n int) (*http.Response, error) {
				if n <= 2 {
					return errorReply(503, "SlowDown"), nil
				}
				return nil, nil
			}, 0, "", 3},
		{"connection reset then success", "UploadPart", 3 * testPart,
			func(n int) (*http.Response, error) {
				if n == 1 {
					return nil, reset
				}
				return nil, nil
			}, 0, "", 4},
		{"500 on complete then success", "CompleteMultipartUpload", 3 * testPart,
			func(n int) (*http.Response, error) {
				if n == 1 {
					return errorReply(500, "InternalError"), nil
				}
				return nil, nil
			}, 0, "", 2},
		{"403 is not retried", "PutObject", 10,
			func(n int) (*http.Response, error) { return errorReply(403, "AccessDenied"), nil },
			0, "AccessDenied", 1},
		{"404 upload is not retried", "UploadPart", 3 * testPart,
			func(n int) (*http.Response, error) { return errorReply(404, "NoSuchUpload"), nil },
			0, "NoSuchUpload", 0},
		{"persistent 500 ends at the deadline with its cause", "PutObject", 10,
			func(n int) (*http.Response, error) { return errorReply(500, "InternalError"), nil },
			time.Second, "InternalError", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newFakeRT(func(op string, n int, _ *http.Request) (*http.Response, error) {
				if op == tc.op {
					return tc.fail(n)
				}
				return nil, nil
			})
			b := newRTBackend(t, rt, func(c *Config) {
				if tc.deadline > 0 {
					c.RetryDeadline = tc.deadline
				}
			})
			data := pattern(tc.size, 1)
			_, err := commitBytes(t, b, data)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Commit error %v, want one naming %s", err, tc.wantErr)
			}
			got := rt.count(tc.op)
			if tc.attempts > 0 && got != tc.attempts {
				t.Errorf("%d attempts of %s, want %d", got, tc.op, tc.attempts)
			}
			if tc.attempts == 0 && tc.wantErr == "InternalError" && got < 2 {
				t.Errorf("%d attempts of %s, want retries", got, tc.op)
			}
			// Every attempt of a body-carrying request sent the same bytes.
			rt.mu.Lock()
			defer rt.mu.Unlock()
			if tc.op == "PutObject" {
				for i, body := range rt.bodies[tc.op] {
					if !bytes.Equal(body, data) {
						t.Errorf("attempt %d sent %d bytes differing from the object", i+1, len(body))
					}
				}
			}
			if tc.op == "UploadPart" && tc.wantErr == "" {
				first := rt.bodies[tc.op][0]
				if !bytes.Equal(first, rt.bodies[tc.op][1]) && !bytes.Equal(first, rt.bodies[tc.op][len(rt.bodies[tc.op])-1]) {
					t.Error("the retried part was not resent whole")
				}
			}
			if tc.wantErr != "" && tc.size > testPart && rt.attempts["AbortMultipartUpload"] == 0 {
				t.Error("failed multipart upload not aborted")
			}
		})
	}
}

// TestSDKErrors checks that errors parsed by the real SDK are classified
// as the fake API's are.
func TestSDKErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  storage.DuplicatePolicy
		size    int
		reply   func(op string, n int) *http.Response
		wantDup bool
		wantErr error
		aborts  int
		puts    int // PutObject or CompleteMultipartUpload attempts
	}{
		{"412 put, keep", storage.Keep, 10, func(op string, n int) *http.Response {
			if op == "PutObject" {
				return errorReply(412, "PreconditionFailed")
			}
			return nil
		}, true, nil, 0, 1},
		{"412 complete, reject", storage.Reject, 3 * testPart, func(op string, n int) *http.Response {
			if op == "CompleteMultipartUpload" {
				return errorReply(412, "PreconditionFailed")
			}
			return nil
		}, false, storage.ErrDuplicate, 1, 1},
		{"409 conflict retried", storage.Reject, 3 * testPart, func(op string, n int) *http.Response {
			if op == "CompleteMultipartUpload" && n == 1 {
				return errorReply(409, "ConditionalRequestConflict")
			}
			return nil
		}, false, nil, 0, 2},
		{"501 on conditional put", storage.Keep, 10, func(op string, n int) *http.Response {
			if op == "PutObject" {
				return errorReply(501, "NotImplemented")
			}
			return nil
		}, false, ErrConditionalWrites, 0, 1},
		{"error in a 200 complete is retried", storage.Overwrite, 3 * testPart, func(op string, n int) *http.Response {
			if op == "CompleteMultipartUpload" && n == 1 {
				return response(200, nil, "<Error><Code>InternalError</Code><Message>try again</Message></Error>")
			}
			return nil
		}, false, nil, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newFakeRT(func(op string, n int, _ *http.Request) (*http.Response, error) {
				if r := tc.reply(op, n); r != nil {
					return r, nil
				}
				return nil, nil
			})
			b := newRTBackend(t, rt, func(c *Config) { c.Duplicate = tc.policy })
			res, err := commitBytes(t, b, pattern(tc.size, 1))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Commit: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Commit: %v, want %v", err, tc.wantErr)
			}
			if res.Duplicate != tc.wantDup {
				t.Errorf("Duplicate %v, want %v", res.Duplicate, tc.wantDup)
			}
			if n := rt.count("AbortMultipartUpload"); n != tc.aborts {
				t.Errorf("%d aborts, want %d", n, tc.aborts)
			}
			if n := rt.count("PutObject") + rt.count("CompleteMultipartUpload"); n != tc.puts {
				t.Errorf("%d PutObject/CompleteMultipartUpload attempts, want %d", n, tc.puts)
			}
			if tc.policy != storage.Overwrite {
				for _, op := range []string{"PutObject", "CompleteMultipartUpload"} {
					for _, h := range rt.headers[op] {
						if h.Get("If-None-Match") != "*" {
							t.Errorf("%s without If-None-Match: *", op)
						}
					}
				}
			}
		})
	}
}

func TestNewErrorsFromResponses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		head    *http.Response
		list    *http.Response
		want    error
		mention string
	}{
		{"missing bucket", response(404, nil, ""), errorReply(404, "NoSuchBucket"), ErrBucketNotFound, `bucket "bkt" does not exist at http://s3.test`},
		{"forbidden", response(403, nil, ""), errorReply(403, "SignatureDoesNotMatch"), ErrAccessDenied, "check accessKey/secretKey"},
		{"unknown key answered 404", response(404, nil, ""), errorReply(404, "InvalidAccessKeyId"), ErrAccessDenied, "InvalidAccessKeyId"},
		{"other region", response(301, http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}, ""),
			response(301, http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}, "<Error><Code>PermanentRedirect</Code></Error>"),
			ErrWrongRegion, `region "eu-west-1", not "us-east-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newFakeRT(func(op string, n int, _ *http.Request) (*http.Response, error) {
				switch op {
				case "HeadBucket":
					return tc.head, nil
				case "ListObjectsV2":
					return tc.list, nil
				}
				return nil, nil
			})
			_, err := New(context.Background(), Config{Bucket: "bkt", AccessKey: "AKIDEXAMPLE12345", SecretKey: testSecret,
				Endpoint: "http://s3.test", HTTPClient: &http.Client{Transport: rt}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error shows the secret: %q", err)
			}
		})
	}
}
