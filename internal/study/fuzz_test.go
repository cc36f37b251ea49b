package study

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"maps"
	"slices"
	"testing"
	"testing/iotest"

	gocmp "github.com/google/go-cmp/cmp"
)

// fuzzLevelOf classifies names by length, so that fuzzed names land on
// every level.
func fuzzLevelOf(name string) Level { return Level(len(name) % 3) }

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// replayedEvent is what a replay rebuilt for one accumulation.
type replayedEvent struct {
	ID    uint64
	Event StudyEvent
}

func replayEvents(t *testing.T, r io.Reader) ([]replayedEvent, *replayed, error) {
	t.Helper()
	rep, err := replay(r, fuzzLevelOf, &interner{})
	if err != nil {
		return nil, nil, err
	}
	var out []replayedEvent
	for _, st := range rep.studies {
		out = append(out, replayedEvent{st.id, st.event()})
	}
	slices.SortFunc(out, func(a, b replayedEvent) int { return cmp.Compare(a.ID, b.ID) })
	return out, rep, nil
}

// FuzzJournal replays arbitrary journals. Replay must not panic, must not
// depend on how the input is split across reads, and a journal rewritten
// from the replayed state must replay to the same state, cleanly.
func FuzzJournal(f *testing.F) {
	f.Add([]byte("{\"v\":1}\n{\"a\":1,\"t\":5,\"st\":\"1.2\",\"se\":\"1.2.1\",\"sop\":\"1.2.1.1\",\"cl\":\"1.2.840.10008.5.1.4.1.1.2\",\"ts\":\"1.2.840.10008.1.2.1\",\"f\":\"/d/1.2/1.2.1/1.2.1.1.dcm\",\"ae\":\"CT\",\"b\":10,\"tg\":{\"ab\":\"x\",\"abc\":\"y\",\"a\":\"z\"}}\n"), uint8(3))
	f.Add([]byte("{\"a\":1,\"t\":1,\"st\":\"1\",\"se\":\"2\",\"sop\":\"3\"}\n{\"d\":1}\n{\"a\":2,\"t\":2,\"st\":\"1\",\"se\":\"2\",\"sop\":\"3\",\"aes\":[\"A\",\"B\"]}\n{\"a\":2,\"t\""), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		whole, rep, err := replayEvents(t, bytes.NewReader(data))
		chunked, _, cerr := replayEvents(t, &chunkReader{b: data, n: int(split)%61 + 1})
		if (err == nil) != (cerr == nil) {
			t.Fatalf("whole read: %v; split reads: %v", err, cerr)
		}
		if err != nil {
			if !errors.Is(err, ErrJournalVersion) {
				t.Fatalf("replay from memory failed: %v", err)
			}
			return
		}
		if diff := gocmp.Diff(whole, chunked); diff != "" {
			t.Fatalf("replay depends on read sizes (-whole +split):\n%s", diff)
		}
		if len(data) < 2048 {
			one, _, err := replayEvents(t, iotest.OneByteReader(bytes.NewReader(data)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(whole, one); diff != "" {
				t.Fatalf("replay depends on read sizes (-whole +bytewise):\n%s", diff)
			}
		}

		// Rewrite (as compaction does) and replay again.
		live := slices.SortedFunc(maps.Values(rep.studies), byID)
		var buf bytes.Buffer
		if _, _, err := writeLive(&buf, live); err != nil {
			t.Fatal(err)
		}
		again, rep2, err := replayEvents(t, &buf)
		if err != nil {
			t.Fatalf("rewritten journal: %v", err)
		}
		if rep2.skipped != 0 || rep2.torn {
			t.Fatalf("rewritten journal: %d lines skipped, torn %v", rep2.skipped, rep2.torn)
		}
		if diff := gocmp.Diff(whole, again); diff != "" {
			t.Fatalf("rewritten journal replays differently (-before +after):\n%s", diff)
		}
	})
}
