package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/s3test"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// BenchmarkReceive1GiB sends one object with 1 GiB of pixel data to the
// dicomrecv command in a separate process, storing to the filesystem and to
// S3 (versitygw), and reports the receiver's peak resident set size (VmHWM)
// and throughput. Run it with
//
//	go test -run '^$' -bench Receive1GiB -benchtime 1x ./cmd/dicomrecv
func BenchmarkReceive1GiB(b *testing.B) {
	b.Run("filesystem", func(b *testing.B) { benchReceive(b, 1<<30, "fsync: false\n", dimse.StatusSuccess) })
	b.Run("s3", func(b *testing.B) {
		s := s3test.Start(b)
		benchReceive(b, 1<<30, fmt.Sprintf("storageBackend: S3\ns3Config: {bucket: %s, accessKey: %s, secretKey: %s, endpoint: %q}\n",
			s.Bucket, s.AccessKey, s.SecretKey, s.Endpoint), dimse.StatusSuccess)
	})
}

// BenchmarkReceive100MiBChanged sends a 100 MiB object through a one-tag
// change (modifyTags, so onBeforeStore runs and the header is rewritten)
// and reports throughput and the receiver's peak RSS:
//
//	go test -run '^$' -bench Receive100MiBChanged -benchtime 3x ./cmd/dicomrecv
func BenchmarkReceive100MiBChanged(b *testing.B) {
	b.Run("unchanged", func(b *testing.B) { benchReceive(b, 100<<20, "fsync: false\n", dimse.StatusSuccess) })
	b.Run("one-tag-change", func(b *testing.B) {
		benchReceive(b, 100<<20, "fsync: false\nmodifyTags: {PatientName: ANONYMOUS}\n", dimse.StatusCoercion)
	})
}

// benchReceive sends objects of pixels bytes to a dicomrecv started with
// config and expects each to be answered with status want.
func benchReceive(b *testing.B, pixels uint32, config string, want uint16) {
	bin := buildBinary(b)
	dir := b.TempDir()
	cfg := dir + "/c.yaml"
	os.WriteFile(cfg, []byte(config), 0o644)
	p := startBenchProcess(b, bin, "--config", cfg, "--port", "0", "--out-dir", dir+"/store")
	const ct = "1.2.840.10008.5.1.4.1.1.2"
	for i := 0; b.Loop(); i++ {
		c, err := scutest.Associate("127.0.0.1:"+strconv.Itoa(p.port), scutest.Options{
			Contexts: []scutest.Context{{ID: 1, AbstractSyntax: ct, TransferSyntaxes: []string{"1.2.840.10008.1.2.1"}}}})
		if err != nil {
			b.Fatal(err)
		}
		c.NC.SetDeadline(time.Now().Add(10 * time.Minute))
		sop := fmt.Sprintf("1.2.3.4.%d", i)
		header := bigHeader(ct, sop, pixels)
		r := io.MultiReader(bytes.NewReader(header), io.LimitReader(patternReader{}, int64(pixels)))
		start := time.Now()
		rsp, err := c.StoreStream(1, ct, sop, r, int64(len(header))+int64(pixels))
		if err != nil || rsp.Status != want {
			b.Fatalf("store: %v %+v", err, rsp)
		}
		elapsed := time.Since(start)
		c.Release()
		b.ReportMetric(float64(pixels)/elapsed.Seconds()/1e6, "MB/s")
	}
	hwm, err := vmHWM(p.pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
}

// benchProcess is a dicomrecv started for a benchmark.
type benchProcess struct {
	pid, port int
}

func startBenchProcess(b *testing.B, bin string, args ...string) *benchProcess {
	b.Helper()
	cmd := execCommand(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		b.Fatal("no ServerStarted line")
	}
	line := sc.Text()
	i := strings.Index(line, `"port":`)
	if i < 0 {
		b.Fatalf("first line %q", line)
	}
	port, _ := strconv.Atoi(strings.TrimRight(strings.SplitN(line[i+7:], ",", 2)[0], "}"))
	go io.Copy(io.Discard, stdout)
	return &benchProcess{pid: cmd.Process.Pid, port: port}
}

// vmHWM reads the peak resident set size of a process in KiB.
func vmHWM(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strconv.Atoi(strings.Fields(l)[1])
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

// bigHeader is a minimal CT data set in explicit VR little endian up to the
// header of a pixel data element of n bytes.
func bigHeader(class, sop string, n uint32) []byte {
	b := testds.ExplicitLE(testds.Str(dicom.TagSOPClassUID, dicom.UI, class), testds.Str(dicom.TagSOPInstanceUID, dicom.UI, sop),
		testds.Str(dicom.TagStudyInstanceUID, dicom.UI, "1.2.3.4"), testds.Str(dicom.TagSeriesInstanceUID, dicom.UI, "1.2.3.4.1"))
	return testds.AppendHeader(b, dicom.TagPixelData, dicom.OW, n)
}

// patternReader yields a repeating byte pattern.
type patternReader struct{}

func (patternReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}
