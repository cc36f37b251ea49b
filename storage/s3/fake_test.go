package s3

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeAPI is an in-memory S3 with the semantics the backend relies on:
// conditional writes, multipart uploads that are invisible until complete,
// CRC-32 checks, and hooks to inject failures or block part uploads.
type fakeAPI struct {
	mu       sync.Mutex
	objects  map[string][]byte
	uploads  map[string]*fakeUpload
	nextID   int
	calls    map[string]int
	inflight int // UploadPart calls in progress
	maxIn    int // most UploadPart calls in progress at once

	// hook, when set, runs first in every call; a non-nil error is
	// returned as the call's result.
	hook func(op string, in any) error
	// gate, when set, makes UploadPart wait for a value before storing.
	gate chan struct{}
	// entered, when set, receives the part number as UploadPart starts.
	entered chan int32
	// completed holds the part sizes of each completed upload.
	completed [][]int
	// noConditional makes the fake ignore If-None-Match, as old stores do.
	noConditional bool
}

type fakeUpload struct {
	key   string
	parts map[int32][]byte
}

func newFake() *fakeAPI {
	return &fakeAPI{objects: map[string][]byte{}, uploads: map[string]*fakeUpload{}, calls: map[string]int{}}
}

// apiError builds an error shaped as the SDK's: an operation error around
// an HTTP response error around an API error.
func apiError(op string, status int, code string, header http.Header) error {
	if header == nil {
		header = http.Header{}
	}
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
				Err:      &smithy.GenericAPIError{Code: code, Message: code},
			},
			RequestID: "fake",
		},
	}
}

func (f *fakeAPI) enter(op string, in any) error {
	f.mu.Lock()
	f.calls[op]++
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		return hook(op, in)
	}
	return nil
}

func (f *fakeAPI) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeAPI) object(key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[key]
	return b, ok
}

func (f *fakeAPI) pending() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.uploads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// readBody reads a request body and checks its CRC-32 header.
func readBody(op string, r io.Reader, n *int64, sum *string) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if n != nil && int64(len(b)) != *n {
		return nil, fmt.Errorf("fake %s: body has %d bytes, Content-Length %d", op, len(b), *n)
	}
	if sum == nil {
		return nil, fmt.Errorf("fake %s: no CRC-32", op)
	}
	if want := crcBase64(crc32.ChecksumIEEE(b)); *sum != want {
		return nil, apiError(op, 400, "BadDigest", nil)
	}
	return b, nil
}

func (f *fakeAPI) HeadBucket(ctx context.Context, in *awss3.HeadBucketInput, _ ...func(*awss3.Options)) (*awss3.HeadBucketOutput, error) {
	if err := f.enter("HeadBucket", in); err != nil {
		return nil, err
	}
	return &awss3.HeadBucketOutput{}, nil
}

func (f *fakeAPI) ListObjectsV2(ctx context.Context, in *awss3.ListObjectsV2Input, _ ...func(*awss3.Options)) (*awss3.ListObjectsV2Output, error) {
	if err := f.enter("ListObjectsV2", in); err != nil {
		return nil, err
	}
	return &awss3.ListObjectsV2Output{}, nil
}

func (f *fakeAPI) HeadObject(ctx context.Context, in *awss3.HeadObjectInput, _ ...func(*awss3.Options)) (*awss3.HeadObjectOutput, error) {
	if err := f.enter("HeadObject", in); err != nil {
		return nil, err
	}
	if b, ok := f.object(*in.Key); ok {
		return &awss3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(b)))}, nil
	}
	return nil, apiError("HeadObject", 404, "NotFound", nil)
}

// publish stores body under key unless a condition fails.
func (f *fakeAPI) publish(op, key string, body []byte, ifNoneMatch *string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ifNoneMatch != nil && !f.noConditional {
		if _, ok := f.objects[key]; ok {
			return apiError(op, 412, "PreconditionFailed", nil)
		}
	}
	f.objects[key] = body
	return nil
}

func (f *fakeAPI) PutObject(ctx context.Context, in *awss3.PutObjectInput, _ ...func(*awss3.Options)) (*awss3.PutObjectOutput, error) {
	if err := f.enter("PutObject", in); err != nil {
		return nil, err
	}
	b, err := readBody("PutObject", in.Body, in.ContentLength, in.ChecksumCRC32)
	if err != nil {
		return nil, err
	}
	if err := f.publish("PutObject", *in.Key, b, in.IfNoneMatch); err != nil {
		return nil, err
	}
	return &awss3.PutObjectOutput{}, nil
}

func (f *fakeAPI) CreateMultipartUpload(ctx context.Context, in *awss3.CreateMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.CreateMultipartUploadOutput, error) {
	if err := f.enter("CreateMultipartUpload", in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := "upload-" + strconv.Itoa(f.nextID)
	f.uploads[id] = &fakeUpload{key: *in.Key, parts: map[int32][]byte{}}
	return &awss3.CreateMultipartUploadOutput{UploadId: aws.String(id)}, nil
}

func (f *fakeAPI) UploadPart(ctx context.Context, in *awss3.UploadPartInput, _ ...func(*awss3.Options)) (*awss3.UploadPartOutput, error) {
	f.mu.Lock()
	f.inflight++
	f.maxIn = max(f.maxIn, f.inflight)
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if entered != nil {
		entered <- *in.PartNumber
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := f.enter("UploadPart", in); err != nil {
		return nil, err
	}
	b, err := readBody("UploadPart", in.Body, in.ContentLength, in.ChecksumCRC32)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.uploads[*in.UploadId]
	if !ok || u.key != *in.Key {
		return nil, apiError("UploadPart", 404, "NoSuchUpload", nil)
	}
	u.parts[*in.PartNumber] = b
	return &awss3.UploadPartOutput{ETag: aws.String(fmt.Sprintf("%q", fmt.Sprintf("etag-%d-%d", *in.PartNumber, len(b))))}, nil
}

func (f *fakeAPI) CompleteMultipartUpload(ctx context.Context, in *awss3.CompleteMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.CompleteMultipartUploadOutput, error) {
	if err := f.enter("CompleteMultipartUpload", in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	u, ok := f.uploads[*in.UploadId]
	f.mu.Unlock()
	if !ok || u.key != *in.Key {
		return nil, apiError("CompleteMultipartUpload", 404, "NoSuchUpload", nil)
	}
	var body bytes.Buffer
	var sizes []int
	for i, p := range in.MultipartUpload.Parts {
		n := aws.ToInt32(p.PartNumber)
		if n != int32(i+1) {
			return nil, apiError("CompleteMultipartUpload", 400, "InvalidPartOrder", nil)
		}
		b, ok := u.parts[n]
		if !ok || aws.ToString(p.ETag) != fmt.Sprintf("%q", fmt.Sprintf("etag-%d-%d", n, len(b))) {
			return nil, apiError("CompleteMultipartUpload", 400, "InvalidPart", nil)
		}
		body.Write(b)
		sizes = append(sizes, len(b))
	}
	if len(u.parts) != len(in.MultipartUpload.Parts) {
		return nil, apiError("CompleteMultipartUpload", 400, "InvalidPart", nil)
	}
	if err := f.publish("CompleteMultipartUpload", *in.Key, body.Bytes(), in.IfNoneMatch); err != nil {
		return nil, err // the upload stays, as on S3
	}
	f.mu.Lock()
	delete(f.uploads, *in.UploadId)
	f.completed = append(f.completed, sizes)
	f.mu.Unlock()
	return &awss3.CompleteMultipartUploadOutput{}, nil
}

func (f *fakeAPI) AbortMultipartUpload(ctx context.Context, in *awss3.AbortMultipartUploadInput, _ ...func(*awss3.Options)) (*awss3.AbortMultipartUploadOutput, error) {
	if err := f.enter("AbortMultipartUpload", in); err == errSkip {
		return &awss3.AbortMultipartUploadOutput{}, nil
	} else if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.uploads[*in.UploadId]; !ok {
		return nil, apiError("AbortMultipartUpload", 404, "NoSuchUpload", nil)
	}
	delete(f.uploads, *in.UploadId)
	return &awss3.AbortMultipartUploadOutput{}, nil
}

func (f *fakeAPI) ListParts(ctx context.Context, in *awss3.ListPartsInput, _ ...func(*awss3.Options)) (*awss3.ListPartsOutput, error) {
	if err := f.enter("ListParts", in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.uploads[*in.UploadId]; !ok {
		return nil, apiError("ListParts", 404, "NoSuchUpload", nil)
	}
	return &awss3.ListPartsOutput{}, nil
}
