package s3

import (
	"bytes"
	"context"
	"testing"

	"github.com/dicomrecv/dicomrecv/storage"
)

// FuzzWriteSplit streams data into an object in writes whose sizes come
// from splits, with a part size and buffer count from the input, then
// commits (or aborts). Whatever the split, the stored object must equal
// data, every part but the last must be exactly PartSize, and nothing may
// remain pending. Seeds are in testdata/fuzz/FuzzWriteSplit.
func FuzzWriteSplit(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{1, 2, 3}, uint8(4), uint8(1), false)
	f.Add(bytes.Repeat([]byte{0xAB}, 100), []byte{7}, uint8(16), uint8(2), false)
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 50), []byte{0, 255, 16, 17}, uint8(16), uint8(3), true)
	f.Fuzz(func(t *testing.T, data, splits []byte, part, buffers uint8, abort bool) {
		partSize := int64(part%64) + 1
		fake := newFake()
		b := newTestBackend(t, fake, func(c *Config) {
			c.PartSize = partSize
			c.MaxBufferedParts = int(buffers%4) + 1
			c.Duplicate = storage.DuplicatePolicy(buffers / 4 % 3)
		})
		o, err := b.Create(context.Background(), testKey)
		if err != nil {
			t.Fatal(err)
		}
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(splits) > 0 {
				s := int(splits[i%len(splits)])
				if s == 0 { // an empty write changes nothing
					if k, err := o.Write(nil); k != 0 || err != nil {
						t.Fatalf("empty Write: %d, %v", k, err)
					}
					s = 1
				}
				n = min(s, n)
			}
			if k, err := o.Write(rest[:n]); k != n || err != nil {
				t.Fatalf("Write: %d of %d bytes, %v", k, n, err)
			}
			rest = rest[n:]
		}
		if abort {
			if err := o.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if _, ok := fake.object(testFullKey); ok {
				t.Fatal("object visible after Abort")
			}
		} else {
			res, err := o.Commit(context.Background())
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if res.Bytes != int64(len(data)) {
				t.Fatalf("Result.Bytes %d, want %d", res.Bytes, len(data))
			}
			got, _ := fake.object(testFullKey)
			if !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes differing from the %d written", len(got), len(data))
			}
			multipart := int64(len(data)) > partSize
			if multipart != (fake.count("CompleteMultipartUpload") == 1) || multipart == (fake.count("PutObject") == 1) {
				t.Fatalf("%d bytes with part size %d: %d PutObject, %d CompleteMultipartUpload",
					len(data), partSize, fake.count("PutObject"), fake.count("CompleteMultipartUpload"))
			}
			if multipart {
				sizes := fake.completed[0]
				for i, n := range sizes {
					if i < len(sizes)-1 && int64(n) != partSize || n == 0 {
						t.Fatalf("part sizes %v with part size %d", sizes, partSize)
					}
				}
			}
		}
		if p := fake.pending(); len(p) != 0 {
			t.Fatalf("uploads left pending: %v", p)
		}
	})
}
