package s3

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dicomrecv/dicomrecv/storage"
)

// Limits and defaults. S3 fixes the part limits (Amazon S3 User Guide,
// "Amazon S3 multipart upload limits"); versitygw enforces the same minimum.
const (
	// DefaultPartSize is the part size when Config.PartSize is zero.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 accepts, except for the last.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30
	// MaxParts is the most parts one multipart upload may have; an object
	// may therefore hold at most MaxParts*PartSize bytes (80,000 MiB at the
	// default part size).
	MaxParts = 10000
	// DefaultMaxBufferedParts is the number of part buffers an object may
	// hold when Config.MaxBufferedParts is zero: one filling, one uploading.
	DefaultMaxBufferedParts = 2
	// MaxMaxBufferedParts bounds Config.MaxBufferedParts.
	MaxMaxBufferedParts = 64
	// DefaultRetryDeadline is Config.RetryDeadline when it is zero.
	DefaultRetryDeadline = 30 * time.Second
	// DefaultRegion is the region when neither Config.Region nor the AWS
	// environment (AWS_REGION, the shared config file) names one.
	DefaultRegion = "us-east-1"
	// StartupTimeout bounds the bucket check in New (at most three
	// attempts), so a wrong endpoint fails start-up in seconds rather than
	// hanging it; a refused connection fails it at once.
	StartupTimeout = 10 * time.Second
	// MaxKeyLength is the longest object key S3 accepts, in bytes.
	MaxKeyLength = 1024
	// MaxPrefixLength is the longest Config.Prefix: a key adds at most
	// three UIDs (storage.MaxUIDLength each), two slashes and ".dcm".
	MaxPrefixLength = MaxKeyLength - 3*storage.MaxUIDLength - 2 - len(".dcm")
)

// Config configures the S3 backend. The zero value of every field but Bucket
// is a usable default. Its String and LogValue methods never show SecretKey.
type Config struct {
	// Bucket is the bucket objects go to; it must exist (New checks).
	Bucket string
	// AccessKey and SecretKey are static credentials. When both are empty
	// the AWS default credential chain is used (environment, shared config
	// and credentials files, web identity, container or instance role).
	// Neither ever appears in errors or logs.
	AccessKey, SecretKey string
	// Endpoint is the base URL of an S3-compatible service
	// (http://host:port or https://host:port); empty means AWS S3.
	Endpoint string
	// Region signs requests. When empty: the region the AWS environment
	// names (AWS_REGION, the shared config file), else DefaultRegion.
	Region string
	// Prefix is prepended to every key. It must not start with "/"; a "/"
	// is appended when missing ("a/b" stores under "a/b/..."), and empty,
	// "." or ".." segments are refused.
	Prefix string
	// ForcePathStyle selects path-style URLs (endpoint/bucket/key) over
	// virtual-hosted ones (bucket.endpoint/key). Nil means true when
	// Endpoint is set (most S3-compatible servers need it) and false for
	// AWS.
	ForcePathStyle *bool
	// PartSize is the multipart part size and the size of each part
	// buffer (default DefaultPartSize, at least MinPartSize). Objects up to
	// PartSize bytes go in one PutObject.
	PartSize int64
	// MaxBufferedParts is the number of part buffers one object may hold,
	// the one being filled included (default DefaultMaxBufferedParts).
	// Write blocks while all are in flight, so an object never holds more
	// than PartSize*MaxBufferedParts bytes whatever its size.
	MaxBufferedParts int
	// Duplicate says what Commit does when the key is already stored.
	// Keep and Reject use conditional writes (If-None-Match: *), which are
	// race-free; see DisableConditionalWrites.
	Duplicate storage.DuplicatePolicy
	// DisableConditionalWrites is for stores that lack If-None-Match on
	// PutObject and CompleteMultipartUpload (AWS S3 and versitygw have
	// them). Keep and Reject then check with HeadObject just before the
	// final PutObject or CompleteMultipartUpload, which is racy: two
	// objects committed under one key at the same time may both be stored,
	// the later replacing the earlier, and both reported as new.
	DisableConditionalWrites bool
	// ReportOverwrites makes Result.Duplicate meaningful under the
	// Overwrite policy: each object then costs one HeadObject, sent when
	// the object is created so that it overlaps the upload and adds no
	// latency. Without it Result.Duplicate is false under Overwrite. Keep
	// and Reject always report duplicates (at no extra cost).
	ReportOverwrites bool
	// RetryDeadline bounds each request to the store, its retries
	// included (default DefaultRetryDeadline). Transient errors (5xx,
	// throttling, connection resets, timeouts) are retried with jittered
	// exponential back-off while the deadline allows; a part must upload
	// within it, so on slow links raise it (8 MiB in 30 s needs 280 KB/s).
	RetryDeadline time.Duration
	// Logger receives the backend's logs: object keys (UIDs, never
	// patient data) at debug level, and warnings naming the multipart
	// upload an abort could not remove. Nil discards them.
	Logger *slog.Logger
	// HTTPClient, when set, sends the requests (tests use it to inject
	// faults). The backend then leaves its connections alone on Close.
	HTTPClient *http.Client

	// minPartSize lowers MinPartSize in this package's unit tests.
	minPartSize int64
}

// Validate reports the first problem with c, naming the s3Config key.
func (c *Config) Validate() error {
	_, err := c.normalize()
	return err
}

// normalize validates c and returns a copy with defaults filled in and the
// prefix normalized.
func (c Config) normalize() (Config, error) {
	if c.Bucket == "" {
		return c, fmt.Errorf("s3: bucket is required")
	}
	if len(c.Bucket) > 255 || strings.ContainsAny(c.Bucket, "/\\ ") || hasControl(c.Bucket) {
		return c, fmt.Errorf("s3: bucket %q is not a valid bucket name", c.Bucket)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, fmt.Errorf("s3: accessKey and secretKey must be given together (or neither, for the AWS default credential chain)")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil:
			// url.Error quotes the input, which may hold credentials.
			return c, fmt.Errorf("s3: endpoint is not a URL")
		case u.Scheme != "http" && u.Scheme != "https":
			return c, fmt.Errorf("s3: endpoint must start with http:// or https://")
		case u.User != nil:
			return c, fmt.Errorf("s3: endpoint must not contain credentials (use accessKey and secretKey)")
		case u.Host == "":
			return c, fmt.Errorf("s3: endpoint %q has no host", c.Endpoint)
		case u.RawQuery != "" || u.Fragment != "":
			return c, fmt.Errorf("s3: endpoint must not have a query or fragment")
		}
	}
	if hasControl(c.Region) || strings.ContainsAny(c.Region, "/ ") {
		return c, fmt.Errorf("s3: region %q is not a valid region", c.Region)
	}
	p, err := normalizePrefix(c.Prefix)
	if err != nil {
		return c, err
	}
	c.Prefix = p
	if c.ForcePathStyle == nil {
		v := c.Endpoint != ""
		c.ForcePathStyle = &v
	}
	minPart := int64(MinPartSize)
	if c.minPartSize > 0 {
		minPart = c.minPartSize
	}
	switch {
	case c.PartSize == 0:
		c.PartSize = DefaultPartSize
	case c.PartSize < minPart:
		return c, fmt.Errorf("s3: partSize %d is below S3's minimum part size %d", c.PartSize, minPart)
	case c.PartSize > MaxPartSize:
		return c, fmt.Errorf("s3: partSize %d is above S3's maximum part size %d", c.PartSize, int64(MaxPartSize))
	}
	switch {
	case c.MaxBufferedParts == 0:
		c.MaxBufferedParts = DefaultMaxBufferedParts
	case c.MaxBufferedParts < 1 || c.MaxBufferedParts > MaxMaxBufferedParts:
		return c, fmt.Errorf("s3: maxBufferedParts %d is outside 1..%d", c.MaxBufferedParts, MaxMaxBufferedParts)
	}
	switch c.Duplicate {
	case storage.Overwrite, storage.Keep, storage.Reject:
	default:
		return c, fmt.Errorf("s3: unknown duplicate policy %v", c.Duplicate)
	}
	switch {
	case c.RetryDeadline == 0:
		c.RetryDeadline = DefaultRetryDeadline
	case c.RetryDeadline < 0:
		return c, fmt.Errorf("s3: retryDeadline %v is negative", c.RetryDeadline)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// normalizePrefix checks a key prefix and gives it a trailing slash.
func normalizePrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("s3: prefix %q must not start with /", p)
	}
	if hasControl(p) || strings.Contains(p, "\\") {
		return "", fmt.Errorf("s3: prefix %q holds a control character or backslash", p)
	}
	p = strings.TrimSuffix(p, "/")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("s3: prefix %q has an empty, \".\" or \"..\" segment", p)
		}
	}
	p += "/"
	if len(p) > MaxPrefixLength {
		return "", fmt.Errorf("s3: prefix is %d bytes long, more than %d", len(p), MaxPrefixLength)
	}
	return p, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// String describes c without its secret key.
func (c Config) String() string {
	pathStyle := "auto"
	if c.ForcePathStyle != nil {
		pathStyle = fmt.Sprint(*c.ForcePathStyle)
	}
	return fmt.Sprintf("s3.Config{Bucket:%q Endpoint:%q Region:%q Prefix:%q AccessKey:%s SecretKey:%s ForcePathStyle:%s PartSize:%d MaxBufferedParts:%d Duplicate:%v}",
		c.Bucket, c.Endpoint, c.Region, c.Prefix, redactedField(c.AccessKey), redactedField(c.SecretKey),
		pathStyle, c.PartSize, c.MaxBufferedParts, c.Duplicate)
}

// GoString is String, so that %#v does not show the secret key either.
func (c Config) GoString() string { return c.String() }

// LogValue describes c for slog without its credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("bucket", c.Bucket),
		slog.String("endpoint", c.Endpoint),
		slog.String("region", c.Region),
		slog.String("prefix", c.Prefix),
		slog.Bool("staticCredentials", c.AccessKey != ""),
		slog.Int64("partSize", c.PartSize),
		slog.Int("maxBufferedParts", c.MaxBufferedParts),
		slog.String("duplicate", c.Duplicate.String()),
	)
}

func redactedField(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}
