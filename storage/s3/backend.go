// Package s3 stores received objects in an S3 bucket (AWS S3 or an
// S3-compatible server such as versitygw or MinIO).
//
// An object is streamed: Write fills a part buffer of Config.PartSize bytes.
// An object that fits in one buffer is stored at Commit by one PutObject of
// known length. A larger one becomes a multipart upload whose parts are
// uploaded in the background while the next buffer fills; Write blocks while
// Config.MaxBufferedParts buffers are in use, so an object in flight never
// holds more than PartSize*MaxBufferedParts bytes, whatever its size. Commit
// sends the last part and completes the upload; only then is the object
// visible. Abort (and any failure) aborts the upload, so no parts remain.
//
// Every request carries a CRC-32 of its body (x-amz-checksum-crc32), computed
// as the bytes are written and checked by the store; no other checksum pass
// is made except the SHA-256 payload signature SigV4 needs over plain HTTP.
//
// The Keep and Reject duplicate policies use conditional writes
// (If-None-Match: * on PutObject and CompleteMultipartUpload), so two
// associations storing the same instance at once cannot both win.
package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/dicomrecv/dicomrecv/storage"
)

// Backend stores objects in one bucket. It is safe for concurrent use.
type Backend struct {
	cfg       Config // normalized
	region    string // resolved
	api       api
	red       redactor
	log       *slog.Logger
	closeIdle func()

	// bufs pools part buffers (*[]byte of capacity cfg.PartSize) across
	// objects; idle ones are released by the garbage collector.
	bufs sync.Pool

	// ctx is cancelled by Close; background uploads run under it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the background goroutines (part uploads, probes).
	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	live   map[*object]struct{} // objects neither committed nor aborted
}

var _ storage.Backend = (*Backend)(nil)

// New validates cfg, connects and checks that the bucket exists and the
// credentials are accepted (HeadBucket, bounded by StartupTimeout). Its
// errors name the cause (wrapping ErrBucketNotFound, ErrAccessDenied,
// ErrUnreachable, ErrWrongRegion or ErrNoCredentials) and never the
// credentials.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, StartupTimeout)
	defer cancel()
	red := newRedactor(cfg)
	client, region, closeIdle, err := newClient(ctx, cfg, red)
	if err != nil {
		return nil, err
	}
	b := newBackend(cfg, client)
	b.region, b.closeIdle = region, closeIdle
	if err := b.checkBucket(ctx, startupAttempts); err != nil {
		b.Close()
		return nil, err
	}
	b.log.Info("s3: bucket ready", "config", cfg)
	return b, nil
}

// newBackend builds a Backend over client without checking anything; cfg
// must be normalized.
func newBackend(cfg Config, client api) *Backend {
	b := &Backend{
		cfg:       cfg,
		region:    cfg.Region,
		api:       client,
		red:       newRedactor(cfg),
		log:       cfg.Logger,
		closeIdle: func() {},
		live:      make(map[*object]struct{}),
	}
	size := cfg.PartSize
	b.bufs.New = func() any {
		buf := make([]byte, 0, size)
		return &buf
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// newClient builds the SDK client: our HTTP transport (unless cfg brings
// one), our retryer, checksums only where we set them, static or default
// credentials, the endpoint and addressing style.
func newClient(ctx context.Context, cfg Config, red redactor) (*awss3.Client, string, func(), error) {
	opts := []func(*config.LoadOptions) error{
		// A BuildableClient, so that the SDK can add a custom CA bundle
		// (AWS_CA_BUNDLE, ca_bundle) to its transport; we take the
		// transport over below.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(tuneTransport)),
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg.RetryDeadline) }),
		config.WithLogger(sdkLogger{log: cfg.Logger, red: red}),
		// We set x-amz-checksum-crc32 ourselves on PutObject and
		// UploadPart; "when required" keeps the SDK from adding its own
		// (a second pass, or aws-chunked bodies some stores reject).
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", nil, fmt.Errorf("s3: loading the AWS configuration: %w", red.clean(err))
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	if cfg.AccessKey == "" {
		// Resolve the default chain now, so that a missing credential is
		// reported as such rather than as a failed request.
		if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
			return nil, "", nil, &kindError{kind: ErrNoCredentials, cause: err, msg: fmt.Sprintf(
				"s3: no credentials: set accessKey and secretKey, or provide AWS credentials in the environment: %v",
				red.clean(err))}
		}
	}
	closeIdle := func() {}
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	} else {
		// Our own client over the SDK's transport, so that Close can close
		// its idle connections (BuildableClient does not expose them).
		var tr *http.Transport
		if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
			tr = bc.GetTransport()
		} else {
			tr = awshttp.NewBuildableClient().WithTransportOptions(tuneTransport).GetTransport()
		}
		awsCfg.HTTPClient = &http.Client{
			Transport: tr,
			// As the SDK's client: a 3xx is an answer, not a detour.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		closeIdle = tr.CloseIdleConnections
	}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = *cfg.ForcePathStyle
	})
	return client, awsCfg.Region, closeIdle, nil
}

// tuneTransport adjusts the SDK's default transport: HTTP/1.1 only (S3
// speaks nothing else, and parts multiplexed over one HTTP/2 connection
// would share one TCP window), and more idle connections per host, since
// many associations upload to one endpoint at once.
func tuneTransport(tr *http.Transport) {
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
}

// sdkLogger passes the SDK's few log lines (warnings, retry notes) to slog.
// Request and response logging stays off, so nothing signed is logged.
type sdkLogger struct {
	log *slog.Logger
	red redactor
}

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, "s3: sdk: "+l.red.string(fmt.Sprintf(format, v...)))
}

// Create starts an object under {Prefix}{key.Path()}. Nothing is sent
// before the first part fills or Commit is called (except the HeadObject of
// Config.ReportOverwrites). ctx is not retained: background part uploads
// are bounded by Config.RetryDeadline, ended by Abort and by Close.
func (b *Backend) Create(ctx context.Context, key storage.Key) (storage.Object, error) {
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	o := newObject(b, b.cfg.Prefix+key.Path())
	b.live[o] = struct{}{}
	if b.cfg.ReportOverwrites && b.cfg.Duplicate == storage.Overwrite {
		o.head = make(chan bool, 1)
		b.wg.Add(1)
		go o.probe()
	}
	return o, nil
}

// Check reports whether the bucket is reachable with the configured
// credentials: one HeadBucket (at most three attempts, bounded by ctx and
// Config.RetryDeadline), so a readiness probe gets a prompt answer.
func (b *Backend) Check(ctx context.Context) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RetryDeadline)
	defer cancel()
	return b.checkBucket(ctx, startupAttempts)
}

// Close aborts the objects still open (their multipart uploads included),
// waits for every background request to end, and closes idle connections.
// Later calls of Create and Check return ErrClosed; Write and Commit on
// objects it aborted return ErrClosed. Close is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	live := slices.Collect(maps.Keys(b.live))
	b.mu.Unlock()

	b.cancel()
	var errs []error
	for _, o := range live {
		if err := o.abandon(); err != nil {
			errs = append(errs, err)
		}
	}
	b.wg.Wait()
	b.closeIdle()
	return errors.Join(errs...)
}

func (b *Backend) forget(o *object) {
	b.mu.Lock()
	delete(b.live, o)
	b.mu.Unlock()
}

func (b *Backend) getBuf() *[]byte {
	p := b.bufs.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

func (b *Backend) putBuf(p *[]byte) { b.bufs.Put(p) }

// checkBucket sends HeadBucket and turns a failure into an error that says
// what to fix. attempts > 0 limits the attempts.
func (b *Backend) checkBucket(ctx context.Context, attempts int) error {
	var opts []func(*awss3.Options)
	if attempts > 0 {
		opts = append(opts, func(o *awss3.Options) { o.RetryMaxAttempts = attempts })
	}
	bucket := aws.String(b.cfg.Bucket)
	_, err := b.api.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: bucket}, opts...)
	if err == nil {
		return nil
	}
	if k := classify(err); k != kindUnreachable && k != kindCanceled {
		// The answer to a HEAD has no body, hence no S3 error code: a 404
		// may mean "no such bucket" or (versitygw) "no such access key".
		// Ask again with a GET that needs the same right (s3:ListBucket)
		// to learn the code.
		_, lerr := b.api.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: bucket, MaxKeys: aws.Int32(1)}, opts...)
		if lerr != nil && apiCode(lerr) != "" {
			err = lerr
		}
	}
	return b.bucketError(err)
}

// bucketError maps a bucket check failure to one of the exported kinds.
func (b *Backend) bucketError(err error) error {
	cause := b.red.clean(err)
	e := &kindError{cause: err}
	k, code := classify(err), apiCode(err)
	switch {
	case k == kindUnreachable:
		e.kind = ErrUnreachable
		e.msg = fmt.Sprintf("s3: cannot reach endpoint %s: %v", b.where(), cause)
	case code == "NoSuchBucket" || (k == kindNotFound && code == "NotFound"):
		e.kind = ErrBucketNotFound
		e.msg = fmt.Sprintf("s3: bucket %q does not exist at %s: %v", b.cfg.Bucket, b.where(), cause)
	case k == kindDenied || credentialCodes[code]:
		hint := "check accessKey/secretKey"
		if b.cfg.AccessKey == "" {
			hint = "check the AWS credentials and the bucket policy"
		}
		e.kind = ErrAccessDenied
		e.msg = fmt.Sprintf("s3: access denied for bucket %q (%s): %v", b.cfg.Bucket, hint, cause)
	case k == kindRedirect || k == kindBadRequest:
		if r := responseHeader(err, "X-Amz-Bucket-Region"); r != "" && r != b.region {
			e.kind = ErrWrongRegion
			e.msg = fmt.Sprintf("s3: bucket %q is in region %q, not %q (set region): %v", b.cfg.Bucket, r, b.region, cause)
			break
		}
		return fmt.Errorf("s3: %s refused the request for bucket %q (check region %q and forcePathStyle): %w",
			b.where(), b.cfg.Bucket, b.region, cause)
	default:
		return fmt.Errorf("s3: checking bucket %q at %s: %w", b.cfg.Bucket, b.where(), cause)
	}
	return e
}

// where names the endpoint for messages.
func (b *Backend) where() string {
	if b.cfg.Endpoint != "" {
		return b.cfg.Endpoint
	}
	return "AWS S3 (region " + b.region + ")"
}

// exists reports whether key is stored (HeadObject).
func (b *Backend) exists(ctx context.Context, key string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RetryDeadline)
	defer cancel()
	_, err := b.api.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)})
	switch {
	case err == nil:
		return true, nil
	case classify(err) == kindNotFound:
		return false, nil
	}
	return false, fmt.Errorf("s3: checking whether %s exists: %w", key, b.red.clean(err))
}
