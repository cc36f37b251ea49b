package s3

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/storage"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Bucket: "b"}
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string // substring; "" for valid
	}{
		{"minimal", func(c *Config) {}, ""},
		{"everything", func(c *Config) {
			*c = Config{Bucket: "dicom", AccessKey: "a", SecretKey: "s", Endpoint: "https://minio.local:9000/",
				Region: "eu-west-1", Prefix: "in/coming/", PartSize: 16 << 20, MaxBufferedParts: 4,
				Duplicate: storage.Reject, RetryDeadline: time.Minute}
		}, ""},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket is required"},
		{"bucket with slash", func(c *Config) { c.Bucket = "a/b" }, "not a valid bucket name"},
		{"access key alone", func(c *Config) { c.AccessKey = "a" }, "accessKey and secretKey"},
		{"secret key alone", func(c *Config) { c.SecretKey = "s" }, "accessKey and secretKey"},
		{"endpoint without scheme", func(c *Config) { c.Endpoint = "minio:9000" }, "http:// or https://"},
		{"endpoint ftp", func(c *Config) { c.Endpoint = "ftp://minio" }, "http:// or https://"},
		{"endpoint without host", func(c *Config) { c.Endpoint = "http://" }, "has no host"},
		{"endpoint with credentials", func(c *Config) { c.Endpoint = "http://u:pw@minio" }, "must not contain credentials"},
		{"endpoint with query", func(c *Config) { c.Endpoint = "http://minio/?x=1" }, "query"},
		{"region with space", func(c *Config) { c.Region = "us east" }, "not a valid region"},
		{"prefix from root", func(c *Config) { c.Prefix = "/in" }, "must not start with /"},
		{"prefix empty segment", func(c *Config) { c.Prefix = "a//b" }, "segment"},
		{"prefix dot dot", func(c *Config) { c.Prefix = "a/../b" }, "segment"},
		{"prefix backslash", func(c *Config) { c.Prefix = `a\b` }, "backslash"},
		{"prefix too long", func(c *Config) { c.Prefix = strings.Repeat("a", MaxPrefixLength) }, "bytes long"},
		{"part too small", func(c *Config) { c.PartSize = MinPartSize - 1 }, "minimum part size"},
		{"part too large", func(c *Config) { c.PartSize = MaxPartSize + 1 }, "maximum part size"},
		{"buffers negative", func(c *Config) { c.MaxBufferedParts = -1 }, "maxBufferedParts"},
		{"buffers too many", func(c *Config) { c.MaxBufferedParts = MaxMaxBufferedParts + 1 }, "maxBufferedParts"},
		{"unknown policy", func(c *Config) { c.Duplicate = 7 }, "duplicate policy"},
		{"negative deadline", func(c *Config) { c.RetryDeadline = -time.Second }, "retryDeadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("error shows endpoint credentials: %v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        Config
		prefix    string
		pathStyle bool
	}{
		{"aws", Config{Bucket: "b"}, "", false},
		{"endpoint", Config{Bucket: "b", Endpoint: "http://x"}, "", true},
		{"explicit virtual-hosted", Config{Bucket: "b", Endpoint: "http://x", ForcePathStyle: new(bool)}, "", false},
		{"prefix gets a slash", Config{Bucket: "b", Prefix: "a/b"}, "a/b/", false},
		{"prefix keeps its slash", Config{Bucket: "b", Prefix: "a/b/"}, "a/b/", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.in.normalize()
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("prefix=%q pathStyle=%v part=%d buffers=%d deadline=%v logger=%v",
				c.Prefix, *c.ForcePathStyle, c.PartSize, c.MaxBufferedParts, c.RetryDeadline, c.Logger != nil)
			want := fmt.Sprintf("prefix=%q pathStyle=%v part=%d buffers=%d deadline=%v logger=%v",
				tc.prefix, tc.pathStyle, DefaultPartSize, DefaultMaxBufferedParts, DefaultRetryDeadline, true)
			if got != want {
				t.Errorf("normalized %s, want %s", got, want)
			}
		})
	}
}

// TestConfigHidesSecret prints a Config every way a program might.
func TestConfigHidesSecret(t *testing.T) {
	c := Config{Bucket: "b", AccessKey: "AKIDEXAMPLE12345", SecretKey: testSecret}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "s3", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "s3", c)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c), logged.String(),
	} {
		if strings.Contains(s, testSecret) || strings.Contains(s, "AKIDEXAMPLE12345") {
			t.Errorf("credential shown: %s", s)
		}
		if !strings.Contains(s, `b`) {
			t.Errorf("bucket not shown: %s", s)
		}
	}
}

func TestMaxPrefixLength(t *testing.T) {
	// The longest key: the longest prefix and three 64-character UIDs.
	uid := strings.Repeat("1", storage.MaxUIDLength)
	k := storage.Key{StudyInstanceUID: uid, SeriesInstanceUID: uid, SOPInstanceUID: uid}
	p, err := normalizePrefix(strings.Repeat("a", MaxPrefixLength-1))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p + k.Path()); n != MaxKeyLength {
		t.Errorf("longest key is %d bytes, want %d", n, MaxKeyLength)
	}
}
