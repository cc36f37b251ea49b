package s3

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/s3test"
	"github.com/dicomrecv/dicomrecv/storage"
)

// BenchmarkStore stores objects in versitygw through the backend, written
// in chunks as a receiver would (16 KiB PDUs for small objects, 64 KiB for
// large). MB/s is the object size over the time from Create to Commit's
// return; allocs/op are this process's (the SDK's included).
//
//	go test -run '^$' -bench BenchmarkStore -benchtime 20x ./storage/s3/
func BenchmarkStore(b *testing.B) {
	srv := s3test.Start(b)
	for _, bc := range []struct {
		name        string
		size, chunk int
		part        int64
	}{
		{"small-512KiB", 512 << 10, 16 << 10, DefaultPartSize},
		{"large-64MiB-part8MiB", 64 << 20, 64 << 10, DefaultPartSize},
		{"large-64MiB-part16MiB", 64 << 20, 64 << 10, 16 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			be := newVGW(b, srv, func(c *Config) { c.PartSize = bc.part })
			chunk := pattern(bc.chunk, 1)
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o, err := be.Create(context.Background(), keyN(i))
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < bc.size; n += len(chunk) {
					if _, err := o.Write(chunk[:min(len(chunk), bc.size-n)]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := o.Commit(context.Background()); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkChecksum compares, per 8 MiB part, the hashes a part upload may
// cost: the CRC-32 we compute as bytes are written, the SHA-256 SigV4 adds
// over plain HTTP (signed payload), and the MD5 of Content-MD5, which we
// do not send.
func BenchmarkChecksum(b *testing.B) {
	buf := pattern(DefaultPartSize, 3)
	for _, bc := range []struct {
		name string
		sum  func([]byte)
	}{
		{"crc32", func(p []byte) { crc32.Update(0, crc32.IEEETable, p) }},
		{"sha256", func(p []byte) { sha256.Sum256(p) }},
		{"md5", func(p []byte) { md5.Sum(p) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				bc.sum(buf)
			}
		})
	}
}

// TestLargeObjectMemory streams a 1 GiB object to versitygw in 64 KiB
// writes with 8 MiB parts, sampling the heap, and checks that memory stays
// bounded by the part buffers (not the object) and that every byte lands.
// It is slow, so it runs only with DICOMRECV_S3_LARGE=1:
//
//	DICOMRECV_S3_LARGE=1 go test -run TestLargeObjectMemory -v ./storage/s3/
func TestLargeObjectMemory(t *testing.T) {
	if os.Getenv("DICOMRECV_S3_LARGE") != "1" {
		t.Skip("set DICOMRECV_S3_LARGE=1 to stream a 1 GiB object")
	}
	const (
		size  = 1 << 30
		chunk = 64 << 10
	)
	srv := s3test.Start(t)
	be := newVGW(t, srv, func(c *Config) { c.PartSize = DefaultPartSize })

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var (
		mu                 sync.Mutex
		peakInuse, peakSys uint64
		stop               = make(chan struct{})
		sampled            = make(chan struct{})
	)
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peakInuse, peakSys = max(peakInuse, ms.HeapInuse), max(peakSys, ms.Sys)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	key := storage.Key{StudyInstanceUID: "1.2", SeriesInstanceUID: "1.2.3", SOPInstanceUID: "1.2.3.4"}
	buf := pattern(chunk, 5)
	sum := crc32.NewIEEE()
	start := time.Now()
	o, err := be.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < size; n += chunk {
		buf[0], buf[chunk/2] = byte(n>>16), byte(n>>24) // every chunk differs
		sum.Write(buf)
		if _, err := o.Write(buf); err != nil {
			t.Fatalf("Write at %d: %v", n, err)
		}
	}
	res, err := o.Commit(context.Background())
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if res.Bytes != size {
		t.Fatalf("Result.Bytes %d, want %d", res.Bytes, size)
	}

	f, err := os.Open(srv.ObjectPath(key.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stored := crc32.NewIEEE()
	n, err := io.Copy(stored, bufio.NewReaderSize(f, 1<<20))
	if err != nil || n != size || stored.Sum32() != sum.Sum32() {
		t.Fatalf("stored %d bytes, CRC %08x; want %d bytes, CRC %08x (%v)", n, stored.Sum32(), size, sum.Sum32(), err)
	}

	hwm := vmHWM()
	t.Logf("1 GiB in %v: %.0f MB/s; peak HeapInuse %.1f MiB (%.1f MiB before), peak Sys %.1f MiB, VmHWM %s",
		elapsed.Round(time.Millisecond), float64(size)/1e6/elapsed.Seconds(),
		mib(peakInuse), mib(base.HeapInuse), mib(peakSys), hwm)
	// Two 8 MiB part buffers in flight, garbage the GC has not reclaimed
	// yet (a pool may drop buffers at a GC), and the SDK's and HTTP's own:
	// far below the object's size, whatever that is.
	if limit := base.HeapInuse + 6*DefaultPartSize; peakInuse > limit {
		t.Errorf("peak HeapInuse %.1f MiB, above %.1f MiB", mib(peakInuse), mib(limit))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// vmHWM returns the process's peak resident set size from
// /proc/self/status.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return fmt.Sprint("unknown")
}
