package study

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/jsonenc"
)

// The journal is a JSON Lines file. Its first line is a header, {"v":1};
// then each line is either an "add" record, one per instance added,
//
//	{"a":ID,"t":UNIX_NANOS,"st":STUDY,"se":SERIES,"sop":SOP,"cl":CLASS,
//	 "ts":TS,"f":FILE,"ae":AE,"aes":[AE...],"b":BYTES,"tg":{NAME:VALUE...}}
//
// where ID numbers the study's accumulation ("ae" is optional; "aes", the
// AE titles, and "l", the last reception time, appear in the first record
// of an accumulation in rewritten journals only), or a "done" record,
//
//	{"d":ID}
//
// written after OnComplete returned for accumulation ID. Replaying the
// records in order rebuilds every accumulation that has no done record. A
// last line without its newline is a write torn by a crash and is ignored;
// a line that does not decode is skipped and counted.

// MaxJournalRecordBytes bounds one journal record. Add does not journal an
// instance whose record would be longer (it returns ErrRecordTooLarge and
// keeps the instance in memory), and replay skips longer lines without
// buffering them.
const MaxJournalRecordBytes = 4 << 20

const (
	journalVersion = 1
	// The journal is rewritten with only the live records when it holds
	// compactFactor times more records than are live (and at least
	// compactMinRecords), or when it exceeds compactMaxBytes and is at least
	// twice the size of its live records.
	compactFactor     = 4
	compactMinRecords = 1024
	compactMaxBytes   = 64 << 20
)

// Journal errors.
var (
	// ErrRecordTooLarge is returned by Add when the instance's journal
	// record would exceed MaxJournalRecordBytes.
	ErrRecordTooLarge = errors.New("journal record too large")
	// ErrJournalLocked is returned by New when another Tracker (in this or
	// another process) holds the journal.
	ErrJournalLocked = errors.New("study: journal in use by another tracker")
	// ErrJournalVersion is returned by New for a journal written in a format
	// this version does not read.
	ErrJournalVersion = errors.New("study: unsupported journal version")
)

// journal is the open journal of a Tracker. It is used under the Tracker's
// lock.
type journal struct {
	path string
	f    *os.File // opened O_APPEND; nil until the first compact
	lock *os.File
	log  *slog.Logger

	size      int64 // bytes in the file
	records   int64 // records in the file, header excluded
	live      int64 // add records of live accumulations
	liveBytes int64 // and their size
	buf       []byte
	broken    error // the file's end is unknown; the next compact repairs it

	compactions int
}

// replayed is what a replay found.
type replayed struct {
	studies map[uint64]*studyState // live accumulations by id
	maxID   uint64
	skipped int  // lines that did not decode
	torn    bool // the last line had no newline
}

// openJournal locks the journal at path and replays it. The caller compacts
// it next, which creates the file if it does not exist.
func openJournal(path string, levelOf func(string) Level, in *interner, log *slog.Logger) (*journal, *replayed, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("study: journal directory: %w", err)
	}
	dir, base := filepath.Split(path)
	lock, err := lockFile(filepath.Join(dir, "."+base+".lock"))
	if err != nil {
		return nil, nil, err
	}
	rep := &replayed{studies: make(map[uint64]*studyState)}
	f, err := os.Open(path)
	switch {
	case err == nil:
		rep, err = replay(f, levelOf, in)
		_ = f.Close()
		if err != nil {
			_ = lock.Close()
			return nil, nil, fmt.Errorf("study: journal %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		_ = lock.Close()
		return nil, nil, fmt.Errorf("study: journal: %w", err)
	}
	return &journal{path: path, lock: lock, log: log}, rep, nil
}

// jrecord is a journal line as it decodes.
type jrecord struct {
	V   int               `json:"v"`
	A   uint64            `json:"a"`
	D   uint64            `json:"d"`
	T   int64             `json:"t"`
	St  string            `json:"st"`
	Se  string            `json:"se"`
	Sop string            `json:"sop"`
	Cl  string            `json:"cl"`
	Ts  string            `json:"ts"`
	F   string            `json:"f"`
	Ae  string            `json:"ae"`
	Aes []string          `json:"aes"`
	L   *int64            `json:"l"`
	B   int64             `json:"b"`
	Tg  map[string]string `json:"tg"`
}

// replay reads a journal from r and rebuilds its live accumulations. It
// fails only on a read error or an unknown version; damaged lines are
// skipped. Lines are buffered as they arrive, up to MaxJournalRecordBytes.
func replay(r io.Reader, levelOf func(string) Level, in *interner) (*replayed, error) {
	rep := &replayed{studies: make(map[uint64]*studyState)}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		acc       []byte // a line that spans several reads
		oversized bool   // discarding the rest of a line that is too long
		first     = true
	)
	for {
		chunk, err := br.ReadSlice('\n')
		var line []byte
		if !oversized {
			if len(acc)+len(chunk) > MaxJournalRecordBytes+1 { // +1: the newline
				oversized, acc = true, acc[:0]
			} else if len(acc) == 0 && err == nil {
				line = chunk // the whole line is in the reader's buffer
			} else {
				acc = append(acc, chunk...)
				line = acc
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(line) > 0 || oversized {
				rep.torn = true
			}
			return rep, nil
		case err != nil:
			return nil, err
		}
		acc = acc[:0]
		if oversized {
			rep.skipped++
			oversized = false
			continue
		}
		if err := rep.apply(line, first, levelOf, in); err != nil {
			return nil, err
		}
		first = false
	}
}

// apply replays one complete line (with its newline).
func (rep *replayed) apply(line []byte, first bool, levelOf func(string) Level, in *interner) error {
	size := int64(len(line))
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	var rec jrecord
	if err := json.Unmarshal(line, &rec); err != nil {
		rep.skipped++
		return nil
	}
	switch {
	case rec.V != 0:
		if first && rec.V != journalVersion {
			return fmt.Errorf("%w: %d", ErrJournalVersion, rec.V)
		}
	case rec.D != 0:
		rep.maxID = max(rep.maxID, rec.D)
		delete(rep.studies, rec.D)
	case rec.A != 0 && rec.St != "" && rec.Se != "" && rec.Sop != "":
		rep.maxID = max(rep.maxID, rec.A)
		at := time.Unix(0, rec.T)
		st := rep.studies[rec.A]
		if st == nil {
			st = newStudy(rec.A, rec.St, at)
			rep.studies[rec.A] = st
		} else if st.uid != rec.St {
			rep.skipped++ // one accumulation is one study
			return nil
		}
		a := addInput{
			series: rec.Se, sop: rec.Sop, class: rec.Cl, ts: rec.Ts, file: rec.F,
			ae: rec.Ae, aes: rec.Aes, bytes: rec.B,
			tags: classify(nil, rec.Tg, levelOf), raw: rec.Tg,
		}
		st.add(&a, at, in)
		if rec.L != nil {
			if l := time.Unix(0, *rec.L); l.After(st.last) {
				st.last = l
			}
		}
		st.jRecords++
		st.jBytes += size
	default:
		rep.skipped++
	}
	return nil
}

// addRecord holds the fields of an add record.
type addRecord struct {
	id                                  uint64
	at                                  time.Time
	study, series, sop, class, ts, file string
	ae                                  string
	aes                                 []string
	last                                *time.Time // rewritten journals
	bytes                               int64
}

// appendAddRecord appends r and the union of tags as one line.
func appendAddRecord(b []byte, r *addRecord, tags ...map[string]string) []byte {
	b = append(b, `{"a":`...)
	b = strconv.AppendUint(b, r.id, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, r.at.UnixNano(), 10)
	for _, f := range [...]struct {
		key string
		v   string
	}{{`,"st":`, r.study}, {`,"se":`, r.series}, {`,"sop":`, r.sop}, {`,"cl":`, r.class}, {`,"ts":`, r.ts}, {`,"f":`, r.file}} {
		b = append(b, f.key...)
		b = jsonenc.AppendString(b, f.v)
	}
	if r.ae != "" {
		b = append(b, `,"ae":`...)
		b = jsonenc.AppendString(b, r.ae)
	}
	if len(r.aes) > 0 {
		b = append(b, `,"aes":[`...)
		for i, ae := range r.aes {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, ae)
		}
		b = append(b, ']')
	}
	if r.last != nil {
		b = append(b, `,"l":`...)
		b = strconv.AppendInt(b, r.last.UnixNano(), 10)
	}
	b = append(b, `,"b":`...)
	b = strconv.AppendInt(b, r.bytes, 10)
	b = append(b, `,"tg":{`...)
	n := 0
	for _, m := range tags {
		for k, v := range m {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = jsonenc.AppendString(b, k)
			b = append(b, ':')
			b = jsonenc.AppendString(b, v)
		}
	}
	return append(b, "}}\n"...)
}

// appendAdd journals inst, added to st at time at.
func (j *journal) appendAdd(st *studyState, at time.Time, inst *Instance) error {
	r := addRecord{
		id: st.id, at: at, study: inst.StudyInstanceUID, series: inst.SeriesInstanceUID,
		sop: inst.SOPInstanceUID, class: inst.SOPClassUID, ts: inst.TransferSyntaxUID,
		file: inst.File, ae: inst.CallingAETitle, bytes: inst.Bytes,
	}
	b := appendAddRecord(j.buf[:0], &r, inst.Tags)
	if cap(b) <= 64<<10 {
		j.buf = b // reuse an ordinary buffer, not a huge one
	}
	if len(b) > MaxJournalRecordBytes {
		return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(b))
	}
	if err := j.write(b); err != nil {
		return err
	}
	st.jRecords++
	st.jBytes += int64(len(b))
	j.live++
	j.liveBytes += int64(len(b))
	return nil
}

// appendDone journals that st was delivered, then rewrites the journal if
// it has grown too far past its live records; live lists those.
func (j *journal) appendDone(st *studyState, live func() []*studyState) {
	j.live -= st.jRecords
	j.liveBytes -= st.jBytes
	var b [32]byte
	rec := strconv.AppendUint(append(b[:0], `{"d":`...), st.id, 10)
	rec = append(rec, "}\n"...)
	if err := j.write(rec); err != nil {
		// Only costs a repeated event after a crash; the next compaction
		// leaves the study out anyway.
		j.log.Warn("study: journal: cannot record a delivered study", "err", err)
	}
	if j.broken != nil ||
		(j.records >= compactMinRecords && j.records >= compactFactor*j.live) ||
		(j.size >= compactMaxBytes && j.size >= 2*j.liveBytes) {
		if err := j.compact(live()); err != nil {
			j.log.Warn("study: journal: cannot rewrite", "err", err)
		}
	}
}

// write appends one record with a single write. A failed write is cut off
// again so that the next record starts on a line of its own.
func (j *journal) write(b []byte) error {
	if j.broken != nil {
		return j.broken
	}
	n, err := j.f.Write(b)
	if err != nil {
		if n > 0 {
			if terr := j.f.Truncate(j.size); terr != nil {
				j.broken = fmt.Errorf("journal damaged by a failed write (%w), repair failed: %w", err, terr)
			}
		}
		return err
	}
	j.size += int64(n)
	j.records++
	return nil
}

// liveCount is what writeLive wrote for one accumulation.
type liveCount struct{ records, bytes int64 }

// writeLive writes a journal holding the accumulations of live only: the
// header, then for each accumulation one add record per instance that
// rebuilds it exactly. It returns the records and bytes written per
// accumulation and the total size.
func writeLive(w io.Writer, live []*studyState) ([]liveCount, int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	counts := make([]liveCount, len(live))
	header := `{"v":` + strconv.Itoa(journalVersion) + "}\n"
	_, _ = bw.WriteString(header)
	size := int64(len(header))
	var b []byte
	for i, st := range live {
		first := true
		for _, ser := range st.series {
			firstOfSeries := true
			for k := range ser.insts {
				rec := &ser.insts[k]
				if rec.flags&flagRemoved != 0 {
					continue
				}
				r := addRecord{
					id: st.id, at: st.last, study: st.uid, series: ser.uid, sop: rec.sop,
					class: rec.kind.class, ts: rec.kind.ts, file: ser.fileOf(rec), bytes: rec.bytes,
				}
				var mb [3]map[string]string
				maps := mb[:0]
				if first {
					// The first record carries what the study keeps from its
					// first instance, its AE titles, and its times.
					r.at, r.aes, r.last = st.first, st.aes, &st.last
					maps = append(maps, st.tags)
				}
				if firstOfSeries {
					maps = append(maps, ser.tags)
				}
				maps = append(maps, ser.tagsOf(rec))
				b = appendAddRecord(b[:0], &r, maps...)
				_, _ = bw.Write(b)
				counts[i].records++
				counts[i].bytes += int64(len(b))
				size += int64(len(b))
				first, firstOfSeries = false, false
			}
		}
	}
	return counts, size, bw.Flush()
}

// compact rewrites the journal with the records of live only: into a
// temporary file, fsynced, then renamed over the journal, so that a crash
// at any point leaves either the old or the new journal whole.
func (j *journal) compact(live []*studyState) error {
	dir, base := filepath.Split(j.path)
	tmp := filepath.Join(dir, "."+base+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("study: journal rewrite: %w", err)
	}
	counts, size, err := writeLive(f, live)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("study: journal rewrite: %w", err)
	}
	if j.f != nil {
		_ = j.f.Close()
		j.f = nil
	}
	if err := os.Rename(tmp, j.path); err != nil {
		err = fmt.Errorf("study: journal rewrite: %w", err)
		_ = os.Remove(tmp)
		j.reopen(err)
		return err
	}
	syncDir(dir)
	j.broken = nil
	j.reopen(nil)
	if j.broken != nil {
		return j.broken
	}
	var records, liveBytes int64
	for i, st := range live {
		st.jRecords, st.jBytes = counts[i].records, counts[i].bytes
		records += counts[i].records
		liveBytes += counts[i].bytes
	}
	j.size = size
	j.records, j.live, j.liveBytes = records, records, liveBytes
	j.compactions++
	return nil
}

// reopen opens the journal for appending after a rewrite. cause, when not
// nil, is why the previous file's end is no longer known for sure.
func (j *journal) reopen(cause error) {
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		j.broken = fmt.Errorf("study: journal reopen: %w", err)
		return
	}
	j.f = f
	if cause != nil {
		// The old file is intact; keep appending to it.
		if fi, err := f.Stat(); err == nil {
			j.size = fi.Size()
		} else {
			j.broken = cause
		}
	}
}

// close closes the journal and releases its lock.
func (j *journal) close() error {
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	if j.lock != nil {
		_ = j.lock.Close()
		j.lock = nil
	}
	return err
}

// syncDir fsyncs a directory so that a rename in it survives a power loss.
// Where directories cannot be synced this is a no-op.
func syncDir(dir string) {
	if dir == "" {
		dir = "."
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
