package study

// WaitIdle waits until no study is queued for or in OnComplete (or the
// tracker is closed). Tests call it after Advance to see every event that
// fired.
func (t *Tracker) WaitIdle() {
	for {
		t.mu.Lock()
		if t.closed || (len(t.queue) == 0 && t.inflight == nil) {
			t.mu.Unlock()
			return
		}
		ch := t.progress
		t.mu.Unlock()
		<-ch
	}
}

// JournalCompactions returns how often the journal was rewritten.
func (t *Tracker) JournalCompactions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.journal == nil {
		return 0
	}
	return t.journal.compactions
}

// CompactMinRecords is the journal size below which it is never rewritten.
const CompactMinRecords = compactMinRecords
