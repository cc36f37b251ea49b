package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/dicomrecv/dicomrecv/storage"
)

// contentType is the media type of a DICOM file (PS3.18 §8.7.3.5.2,
// registered in RFC 3240).
const contentType = "application/dicom"

const (
	// conflictRetries bounds the retries of a conditional write that S3
	// answered with 409 ConditionalRequestConflict (another write of the
	// same key was in progress; AWS says to retry).
	conflictRetries = 3
	// conflictBackoff is the pause before such a retry.
	conflictBackoff = 100 * time.Millisecond
	// abortRounds bounds AbortMultipartUpload + ListParts rounds: AWS
	// warns that parts still uploading when an abort arrives may survive
	// it, and advises checking with ListParts.
	abortRounds = 3
)

// object is an object being written: see the package comment.
//
// Its methods are serialized by mu, which Backend.Close also takes to
// abort an object still open. Part uploads run in goroutines that touch
// nothing of the object but report on results.
type object struct {
	b   *Backend
	key string // full key, prefix included

	// ctx governs part uploads and the overwrite probe; cancelled on
	// failure, Abort, Commit's end and Close.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	finished bool      // Commit or Abort called, or aborted by Close
	endErr   error     // what Write and Commit return once finished
	bufp     *[]byte   // the buffer being filled, or nil
	spare    []*[]byte // buffers back from part uploads, reused first
	crc      uint32    // CRC-32 (IEEE) of *bufp
	size     int64
	uploadID string                // "" until the multipart upload starts
	parts    []types.CompletedPart // parts shipped, ETags filled as they finish
	inflight int                   // part uploads not yet collected
	results  chan partResult       // capacity MaxBufferedParts: sends never block
	err      error                 // first failure; sticky
	head     chan bool             // ReportOverwrites probe, nil without one
}

type partResult struct {
	num  int32
	etag *string
	err  error
	bufp *[]byte // the part's buffer, free again
}

func newObject(b *Backend, key string) *object {
	o := &object{
		b:       b,
		key:     key,
		endErr:  ErrFinished,
		results: make(chan partResult, b.cfg.MaxBufferedParts),
	}
	o.ctx, o.cancel = context.WithCancel(b.ctx)
	return o
}

// Write appends p to the object. When a part buffer is full and more bytes
// come, the buffer is shipped as a part (starting the multipart upload if
// needed) and Write goes on with a fresh buffer, waiting while
// MaxBufferedParts buffers are in use. Once a part upload has failed, Write
// returns that error.
func (o *object) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished {
		return 0, o.endErr
	}
	o.poll()
	if o.err != nil {
		return 0, o.err
	}
	n := 0
	for len(p) > 0 {
		if o.bufp != nil && len(*o.bufp) == cap(*o.bufp) {
			// Full, and more bytes follow: this buffer is a part. (Shipping
			// only now lets an object of exactly PartSize bytes go in one
			// PutObject.)
			if err := o.ship(); err != nil {
				return n, err
			}
		}
		if o.bufp == nil {
			if err := o.acquire(); err != nil {
				return n, err
			}
		}
		buf := *o.bufp
		k := copy(buf[len(buf):cap(buf)], p)
		o.crc = crc32.Update(o.crc, crc32.IEEETable, p[:k])
		*o.bufp = buf[:len(buf)+k]
		o.size += int64(k)
		n += k
		p = p[k:]
	}
	return n, nil
}

// acquire takes a buffer to fill, first waiting for part uploads to finish
// while all MaxBufferedParts buffers are in flight.
func (o *object) acquire() error {
	for o.inflight >= o.b.cfg.MaxBufferedParts {
		o.collect(<-o.results)
	}
	if o.err != nil {
		return o.err
	}
	// Reusing the object's own buffers keeps it at MaxBufferedParts
	// buffers even when a GC empties the pool mid-object.
	if n := len(o.spare); n > 0 {
		o.bufp, o.spare = o.spare[n-1], o.spare[:n-1]
		*o.bufp = (*o.bufp)[:0]
		return nil
	}
	o.bufp = o.b.getBuf()
	return nil
}

// ship hands the current buffer to a goroutine that uploads it as the next
// part.
func (o *object) ship() error {
	if len(o.parts) == MaxParts {
		return o.fail(fmt.Errorf("%w: %s needs more than %d parts of %d bytes", ErrTooLarge, o.key, MaxParts, o.b.cfg.PartSize))
	}
	if o.uploadID == "" {
		if err := o.startUpload(); err != nil {
			return o.fail(err)
		}
	}
	num := int32(len(o.parts) + 1)
	o.parts = append(o.parts, types.CompletedPart{PartNumber: aws.Int32(num)})
	bufp, crc := o.bufp, o.crc
	o.bufp, o.crc = nil, 0
	o.inflight++
	o.b.wg.Add(1)
	go o.uploadPart(o.uploadID, num, bufp, crc)
	return nil
}

func (o *object) startUpload() error {
	ctx, cancel := context.WithTimeout(o.ctx, o.b.cfg.RetryDeadline)
	defer cancel()
	out, err := o.b.api.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:      aws.String(o.b.cfg.Bucket),
		Key:         aws.String(o.key),
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("s3: starting the multipart upload of %s: %w", o.key, o.b.red.clean(err))
	}
	if aws.ToString(out.UploadId) == "" {
		return fmt.Errorf("s3: starting the multipart upload of %s: the store returned no upload ID", o.key)
	}
	o.uploadID = *out.UploadId
	o.b.log.Debug("s3: multipart upload started", "key", o.key, "uploadId", o.uploadID)
	return nil
}

// uploadPart runs in its own goroutine. The SDK retries transient errors,
// rewinding the bytes.Reader; once UploadPart has returned, the SDK has
// closed the body, so the buffer can be reused.
func (o *object) uploadPart(uploadID string, num int32, bufp *[]byte, crc uint32) {
	defer o.b.wg.Done()
	ctx, cancel := context.WithTimeout(o.ctx, o.b.cfg.RetryDeadline)
	out, err := o.b.api.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket:        aws.String(o.b.cfg.Bucket),
		Key:           aws.String(o.key),
		UploadId:      aws.String(uploadID),
		PartNumber:    aws.Int32(num),
		Body:          bytes.NewReader(*bufp),
		ContentLength: aws.Int64(int64(len(*bufp))),
		ChecksumCRC32: aws.String(crcBase64(crc)),
	})
	cancel()
	r := partResult{num: num, bufp: bufp}
	if err != nil {
		r.err = o.b.red.clean(err)
	} else {
		r.etag = out.ETag
	}
	o.results <- r
}

// collect records the end of one part upload.
func (o *object) collect(r partResult) {
	o.inflight--
	o.spare = append(o.spare, r.bufp)
	switch {
	case r.err != nil:
		o.fail(fmt.Errorf("s3: uploading part %d of %s: %w", r.num, o.key, r.err))
	case r.etag == nil:
		o.fail(fmt.Errorf("s3: uploading part %d of %s: the store returned no ETag", r.num, o.key))
	default:
		o.parts[r.num-1].ETag = r.etag
	}
}

// poll collects the part uploads that have finished, without waiting.
func (o *object) poll() {
	for o.inflight > 0 {
		select {
		case r := <-o.results:
			o.collect(r)
		default:
			return
		}
	}
}

// drain waits for every part upload in flight.
func (o *object) drain() {
	for o.inflight > 0 {
		o.collect(<-o.results)
	}
}

// fail records the object's first error and stops its other uploads.
func (o *object) fail(err error) error {
	if o.err == nil {
		o.err = err
		o.cancel()
	}
	return o.err
}

// releaseBuf returns the object's buffers to the Backend's pool.
func (o *object) releaseBuf() {
	if o.bufp != nil {
		o.b.putBuf(o.bufp)
		o.bufp = nil
	}
	for _, p := range o.spare {
		o.b.putBuf(p)
	}
	o.spare = nil
}

// Commit stores the object: one PutObject when it fits in a part, else the
// last part and CompleteMultipartUpload. Under Keep and Reject the write is
// conditional; when the key exists, Keep returns a Result with Duplicate
// set and Reject an error wrapping storage.ErrDuplicate.
// On any failure the multipart upload is aborted before Commit returns.
// Result.Bytes counts the bytes written, also when Keep discarded them.
func (o *object) Commit(ctx context.Context) (storage.Result, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished {
		return storage.Result{}, o.endErr
	}
	o.finished = true
	defer o.b.forget(o)
	defer o.cancel()
	// Close cancels a Commit in progress too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(o.b.ctx, cancel)()

	if o.err == nil && o.uploadID == "" {
		return o.commitSingle(ctx)
	}
	return o.commitMultipart(ctx)
}

func (o *object) result() storage.Result {
	return storage.Result{Location: "s3://" + o.b.cfg.Bucket + "/" + o.key, Bytes: o.size}
}

// conditional reports whether the final write must carry If-None-Match,
// after the HeadObject fallback when conditional writes are disabled. A
// true dup means the key is already stored.
func (o *object) conditional(ctx context.Context) (cond, dup bool, err error) {
	if o.b.cfg.Duplicate == storage.Overwrite {
		return false, false, nil
	}
	if !o.b.cfg.DisableConditionalWrites {
		return true, false, nil
	}
	// Racy fallback (see Config.DisableConditionalWrites): between this
	// HeadObject and the write below, another writer may store the key.
	dup, err = o.b.exists(ctx, o.key)
	return false, dup, err
}

// duplicate is the outcome of finding the key already stored.
func (o *object) duplicate(res storage.Result) (storage.Result, error) {
	if o.b.cfg.Duplicate == storage.Reject {
		return storage.Result{}, fmt.Errorf("s3: %s: %w", o.key, storage.ErrDuplicate)
	}
	res.Duplicate = true
	o.b.log.Debug("s3: duplicate kept", "key", o.key)
	return res, nil
}

func (o *object) commitSingle(ctx context.Context) (storage.Result, error) {
	defer o.releaseBuf()
	var body []byte
	if o.bufp != nil {
		body = *o.bufp
	}
	res := o.result()
	cond, dup, err := o.conditional(ctx)
	if err != nil {
		return storage.Result{}, err
	}
	if dup {
		return o.duplicate(res)
	}
	// The probe must have answered before we publish, or it may see our
	// own object.
	existed := o.probed(ctx)
	sum := crcBase64(o.crc)
	for attempt := 0; ; attempt++ {
		in := &awss3.PutObjectInput{
			Bucket:        aws.String(o.b.cfg.Bucket),
			Key:           aws.String(o.key),
			Body:          bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			ContentType:   aws.String(contentType),
			ChecksumCRC32: aws.String(sum),
		}
		if cond {
			in.IfNoneMatch = aws.String("*")
		}
		rctx, rcancel := context.WithTimeout(ctx, o.b.cfg.RetryDeadline)
		_, err := o.b.api.PutObject(rctx, in)
		rcancel()
		if err == nil {
			res.Duplicate = existed
			return res, nil
		}
		if retry, err := o.writeFailed(ctx, cond, attempt, "storing", err); retry {
			continue
		} else if err != nil {
			return storage.Result{}, err
		}
		return o.duplicate(res)
	}
}

func (o *object) commitMultipart(ctx context.Context) (storage.Result, error) {
	if o.err == nil && o.bufp != nil && len(*o.bufp) > 0 {
		o.ship() // on failure o.err is set
	}
	o.wait(ctx)
	o.releaseBuf()
	if o.err != nil {
		o.abortUpload()
		return storage.Result{}, o.err
	}
	res := o.result()
	cond, dup, err := o.conditional(ctx)
	if err != nil {
		o.abortUpload()
		return storage.Result{}, err
	}
	if dup {
		o.abortUpload()
		return o.duplicate(res)
	}
	existed := o.probed(ctx)
	for attempt := 0; ; attempt++ {
		in := &awss3.CompleteMultipartUploadInput{
			Bucket:          aws.String(o.b.cfg.Bucket),
			Key:             aws.String(o.key),
			UploadId:        aws.String(o.uploadID),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: o.parts},
		}
		if cond {
			in.IfNoneMatch = aws.String("*")
		}
		rctx, rcancel := context.WithTimeout(ctx, o.b.cfg.RetryDeadline)
		_, err := o.b.api.CompleteMultipartUpload(rctx, in)
		rcancel()
		if err == nil {
			o.b.log.Debug("s3: multipart upload completed", "key", o.key, "parts", len(o.parts), "bytes", o.size)
			o.uploadID = ""
			res.Duplicate = existed
			return res, nil
		}
		if retry, err := o.writeFailed(ctx, cond, attempt, "completing the multipart upload of", err); retry {
			continue
		} else if err != nil {
			o.abortUpload()
			return storage.Result{}, err
		}
		// A failed condition leaves the upload open (on AWS and
		// versitygw alike): abort it.
		o.abortUpload()
		return o.duplicate(res)
	}
}

// writeFailed sorts out a failed PutObject or CompleteMultipartUpload. It
// returns retry for a conflicting conditional write worth retrying, a nil
// error when the key turned out to exist (a failed condition), and
// otherwise the error to return.
func (o *object) writeFailed(ctx context.Context, cond bool, attempt int, what string, err error) (retry bool, _ error) {
	switch k := classify(err); {
	case cond && k == kindPrecondition:
		return false, nil
	case cond && k == kindConflict && attempt < conflictRetries:
		t := time.NewTimer(conflictBackoff)
		defer t.Stop()
		select {
		case <-t.C:
			return true, nil
		case <-ctx.Done():
		}
	case cond && k == kindNotImplemented:
		return false, fmt.Errorf("s3: %s %s: %w (set disableConditionalWrites, or use the overwrite policy): %w",
			what, o.key, ErrConditionalWrites, o.b.red.clean(err))
	}
	return false, fmt.Errorf("s3: %s %s: %w", what, o.key, o.b.red.clean(err))
}

// wait collects every part upload in flight, or fails the object when ctx
// ends first (and then still waits for the cancelled uploads to return).
func (o *object) wait(ctx context.Context) {
	for o.inflight > 0 {
		select {
		case r := <-o.results:
			o.collect(r)
		case <-ctx.Done():
			o.fail(fmt.Errorf("s3: committing %s: %w", o.key, ctx.Err()))
			o.drain()
			return
		}
	}
}

// probed waits for the ReportOverwrites probe's answer: whether the key
// existed before this object was stored. The probe was sent at Create, so
// it has usually answered long before.
func (o *object) probed(ctx context.Context) bool {
	if o.head == nil {
		return false
	}
	select {
	case v := <-o.head:
		return v
	case <-ctx.Done():
		return false
	}
}

// probe runs in its own goroutine (Config.ReportOverwrites).
func (o *object) probe() {
	defer o.b.wg.Done()
	exists, err := o.b.exists(o.ctx, o.key)
	if err != nil {
		o.b.log.Debug("s3: overwrite probe failed", "key", o.key, "err", err)
	}
	o.head <- exists
}

// Abort discards the object: it stops the part uploads in flight and
// aborts the multipart upload, checking that no part survives. Abort after
// Commit or Abort does nothing.
func (o *object) Abort() error { return o.discard(ErrFinished) }

// abandon is Abort on behalf of Backend.Close: Write and Commit then
// return ErrClosed.
func (o *object) abandon() error { return o.discard(ErrClosed) }

// discard finishes the object unless it is finished already; endErr is what
// Write and Commit return afterwards.
func (o *object) discard(endErr error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished {
		return nil
	}
	o.finished = true
	o.endErr = endErr
	defer o.b.forget(o)
	o.cancel()
	o.drain()
	o.releaseBuf()
	return o.abortUpload()
}

// abortUpload aborts the multipart upload, if one was started. It runs on
// a context of its own, so that it still happens when the caller's context
// or the Backend is cancelled.
func (o *object) abortUpload() error {
	if o.uploadID == "" {
		return nil
	}
	id := o.uploadID
	o.uploadID = ""
	ctx, cancel := context.WithTimeout(context.Background(), o.b.cfg.RetryDeadline)
	defer cancel()
	bucket, key := aws.String(o.b.cfg.Bucket), aws.String(o.key)
	for range abortRounds {
		_, err := o.b.api.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: bucket, Key: key, UploadId: &id})
		if err != nil && classify(err) != kindNotFound {
			err = fmt.Errorf("s3: aborting multipart upload %s of %s (its parts stay until aborted or removed by a lifecycle rule): %w",
				id, o.key, o.b.red.clean(err))
			o.b.log.Warn("s3: abort failed", "err", err)
			return err
		}
		_, err = o.b.api.ListParts(ctx, &awss3.ListPartsInput{Bucket: bucket, Key: key, UploadId: &id, MaxParts: aws.Int32(1)})
		switch {
		case err == nil:
			continue // the upload is still there: abort again
		case classify(err) != kindNotFound:
			// Cannot tell (ListParts may not be permitted): the abort
			// itself succeeded, which is what S3 promises.
			o.b.log.Debug("s3: cannot verify abort", "key", o.key, "uploadId", id, "err", o.b.red.clean(err))
		}
		o.b.log.Debug("s3: multipart upload aborted", "key", o.key, "uploadId", id)
		return nil
	}
	err := fmt.Errorf("s3: multipart upload %s of %s still listed after %d aborts", id, o.key, abortRounds)
	o.b.log.Warn("s3: abort failed", "err", err)
	return err
}

// crcBase64 is the x-amz-checksum-crc32 form of a CRC: the big-endian bytes
// in standard base64.
func crcBase64(crc uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc)
	return base64.StdEncoding.EncodeToString(b[:])
}
