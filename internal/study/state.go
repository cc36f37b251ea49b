package study

import (
	"strings"
	"time"
)

// This file holds the in-memory form of a study that is accumulating
// instances. It is built for size, since a study may hold tens of thousands
// of instances for as long as its sender keeps sending:
//
//   - an instance keeps only its SOP Instance UID, file, byte count, a
//     pointer to its (SOP class, transfer syntax) pair shared within the
//     series, and the instance-level tags that differ from the first
//     instance of its series (nil when none differ, the usual case for
//     equipment and image-pixel tags);
//   - the file is not kept when it is the series' common prefix followed by
//     "{SOPInstanceUID}.dcm", the receiver's layout;
//   - AE titles, SOP classes, transfer syntaxes and tag names are interned.

const (
	// maxInterned bounds the strings a Tracker interns, so that a peer
	// sending ever new AE titles or SOP classes cannot grow the table
	// without end. Past it strings are kept as they come.
	maxInterned = 4096
	// maxKindsPerSeries bounds the distinct (SOP class, transfer syntax)
	// pairs shared within a series; past it each instance gets its own pair,
	// which keeps Add O(1) for a pathological series.
	maxKindsPerSeries = 16
)

// interner returns one shared copy of repeated strings. It is not safe for
// concurrent use; the Tracker calls it under its lock.
type interner struct{ m map[string]string }

func (in *interner) get(s string) string {
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) >= maxInterned {
		return s
	}
	s = strings.Clone(s)
	in.m[s] = s
	return s
}

// ltag is an extracted tag with its level.
type ltag struct {
	name, value string
	level       Level
}

// addInput is one instance as Tracker.Add and the journal replay feed it to
// a studyState.
type addInput struct {
	series, sop, class, ts, file, ae string
	// aes are further AE titles of the study (compacted journal records).
	aes   []string
	bytes int64
	// tags are the instance's tags with their levels; raw is the same set
	// keyed by name.
	tags []ltag
	raw  map[string]string
}

// classify appends the tags of raw with their levels to out.
func classify(out []ltag, raw map[string]string, levelOf func(string) Level) []ltag {
	for name, value := range raw {
		l := LevelInstance
		if levelOf != nil {
			l = levelOf(name)
		}
		out = append(out, ltag{name: name, value: value, level: l})
	}
	return out
}

// deltaKV is an instance-level tag whose value differs from the first
// instance of the series, or (absent) a tag of the first instance that this
// instance lacks.
type deltaKV struct {
	name, value string
	absent      bool
}

// kind is a (SOP class, transfer syntax) pair shared by the instances of a
// series.
type kind struct{ class, ts string }

const (
	flagFileDerived uint8 = 1 << iota // file is filePrefix + sop + ".dcm"
	flagRemoved                       // the instance was sent again in another series
)

// instRec is one instance of a series.
type instRec struct {
	sop   string
	file  string // "" when flagFileDerived
	kind  *kind
	bytes int64
	delta []deltaKV
	flags uint8
}

// seriesState is one series of a studyState.
type seriesState struct {
	uid        string
	tags       map[string]string // series level, from the first instance
	base       map[string]string // instance level, of the first instance
	filePrefix string
	kinds      []*kind
	insts      []instRec
	live       int // instances not flagRemoved
}

// instLoc is where an instance sits: study.series[series].insts[inst].
type instLoc struct{ series, inst int32 }

// studyState is one accumulation of a study: the instances received since
// the study's previous event.
type studyState struct {
	// id numbers accumulations in the order they started, across restarts
	// (the journal keeps it); Flush emits in id order.
	id        uint64
	uid       string
	tags      map[string]string // study level, from the first instance
	series    []*seriesState
	seriesIdx map[string]int32
	sops      map[string]instLoc
	aes       []string
	count     int
	bytes     int64
	first     time.Time
	last      time.Time

	// Owned by the Tracker, under its lock.
	deadline time.Time
	timer    Timer
	jRecords int64 // journal add records written for this accumulation
	jBytes   int64 // and their size
}

func newStudy(id uint64, uid string, now time.Time) *studyState {
	return &studyState{
		id:        id,
		uid:       uid,
		seriesIdx: make(map[string]int32, 1),
		sops:      make(map[string]instLoc),
		first:     now,
		last:      now,
	}
}

// levelMap returns the tags of level l as a new, non-nil map with interned
// names.
func levelMap(tags []ltag, l Level, in *interner) map[string]string {
	n := 0
	for i := range tags {
		if tags[i].level == l {
			n++
		}
	}
	m := make(map[string]string, n)
	for i := range tags {
		if tags[i].level == l {
			m[in.get(tags[i].name)] = tags[i].value
		}
	}
	return m
}

// add records one instance received at time at. An instance whose SOP
// Instance UID the accumulation already holds (the sender sent it again)
// replaces the earlier copy instead of counting twice: it keeps the earlier
// copy's place in its series, or, if it names another series, moves there.
func (st *studyState) add(a *addInput, at time.Time, in *interner) {
	if at.After(st.last) {
		st.last = at
	}
	if len(st.series) == 0 {
		// Study-level tags come from the first instance of the study.
		st.tags = levelMap(a.tags, LevelStudy, in)
	}
	for _, ae := range a.aes {
		st.addAE(ae, in)
	}
	st.addAE(a.ae, in)

	si, ok := st.seriesIdx[a.series]
	if !ok {
		// Series-level tags come from the first instance of the series.
		ser := &seriesState{
			uid:  a.series,
			tags: levelMap(a.tags, LevelSeries, in),
			base: levelMap(a.tags, LevelInstance, in),
		}
		if p, ok := derivePrefix(a.file, a.sop); ok {
			ser.filePrefix = strings.Clone(p)
		}
		si = int32(len(st.series))
		st.series = append(st.series, ser)
		st.seriesIdx[a.series] = si
	}
	ser := st.series[si]

	if loc, dup := st.sops[a.sop]; dup {
		if loc.series == si {
			rec := &ser.insts[loc.inst]
			st.bytes -= rec.bytes
			ser.fill(rec, a, rec.sop, in)
			st.bytes += rec.bytes
			return
		}
		old := st.series[loc.series]
		rec := &old.insts[loc.inst]
		st.bytes -= rec.bytes
		*rec = instRec{flags: flagRemoved}
		old.live--
		st.count--
	}
	var rec instRec
	ser.fill(&rec, a, a.sop, in)
	ser.insts = append(ser.insts, rec)
	ser.live++
	st.count++
	st.bytes += rec.bytes
	st.sops[rec.sop] = instLoc{series: si, inst: int32(len(ser.insts) - 1)}
}

func (st *studyState) addAE(ae string, in *interner) {
	if ae == "" {
		return
	}
	for _, have := range st.aes {
		if have == ae {
			return
		}
	}
	st.aes = append(st.aes, in.get(ae))
}

// fill sets rec from a; sop is the string to keep for the SOP Instance UID.
func (ser *seriesState) fill(rec *instRec, a *addInput, sop string, in *interner) {
	*rec = instRec{sop: sop, bytes: a.bytes, kind: ser.kindOf(a.class, a.ts, in)}
	if p, ok := derivePrefix(a.file, a.sop); ok && p == ser.filePrefix {
		rec.flags |= flagFileDerived
	} else {
		rec.file = a.file
	}
	rec.delta = ser.deltaOf(a, sop, in)
}

func (ser *seriesState) kindOf(class, ts string, in *interner) *kind {
	for _, k := range ser.kinds {
		if k.class == class && k.ts == ts {
			return k
		}
	}
	k := &kind{class: in.get(class), ts: in.get(ts)}
	if len(ser.kinds) < maxKindsPerSeries {
		ser.kinds = append(ser.kinds, k)
	}
	return k
}

// deltaOf returns the instance-level tags of a that differ from the series'
// first instance, nil when there are none.
func (ser *seriesState) deltaOf(a *addInput, sop string, in *interner) []deltaKV {
	var buf [16]deltaKV
	d := buf[:0]
	matched := 0
	for i := range a.tags {
		t := &a.tags[i]
		if t.level != LevelInstance {
			continue
		}
		bv, ok := ser.base[t.name]
		if ok {
			matched++
			if bv == t.value {
				continue
			}
		}
		v := t.value
		if v == sop {
			v = sop // the SOPInstanceUID tag shares the kept UID
		}
		d = append(d, deltaKV{name: t.name, value: v})
	}
	if matched < len(ser.base) {
		for name := range ser.base {
			if _, ok := a.raw[name]; !ok {
				d = append(d, deltaKV{name: name, absent: true})
			}
		}
	}
	if len(d) == 0 {
		return nil
	}
	out := make([]deltaKV, len(d))
	for i, kv := range d {
		if !kv.absent {
			kv.name = in.get(kv.name)
		}
		out[i] = kv
	}
	return out
}

// derivePrefix returns p when file is p + sop + ".dcm".
func derivePrefix(file, sop string) (string, bool) {
	const ext = ".dcm"
	if sop == "" || len(file) < len(sop)+len(ext) || !strings.HasSuffix(file, ext) {
		return "", false
	}
	rest := file[:len(file)-len(ext)]
	if !strings.HasSuffix(rest, sop) {
		return "", false
	}
	return rest[:len(rest)-len(sop)], true
}

// fileOf returns the file of rec.
func (ser *seriesState) fileOf(rec *instRec) string {
	if rec.flags&flagFileDerived != 0 {
		return ser.filePrefix + rec.sop + ".dcm"
	}
	return rec.file
}

// tagsOf returns the instance-level tags of rec as a new, non-nil map.
func (ser *seriesState) tagsOf(rec *instRec) map[string]string {
	m := make(map[string]string, len(ser.base)+len(rec.delta))
	for k, v := range ser.base {
		m[k] = v
	}
	for _, d := range rec.delta {
		if d.absent {
			delete(m, d.name)
		} else {
			m[d.name] = d.value
		}
	}
	return m
}

// event builds the StudyEvent of st. The result shares no map or slice with
// st, so a handler may keep or change it.
func (st *studyState) event() StudyEvent {
	ev := StudyEvent{
		StudyInstanceUID: st.uid,
		Tags:             cloneMap(st.tags),
		Series:           make([]Series, 0, len(st.series)),
		CallingAETitles:  append(make([]string, 0, len(st.aes)), st.aes...),
		InstanceCount:    st.count,
		Bytes:            st.bytes,
		FirstReceived:    st.first.Round(0), // without the monotonic reading
		LastReceived:     st.last.Round(0),
	}
	for _, ser := range st.series {
		if ser.live == 0 {
			continue
		}
		s := Series{
			SeriesInstanceUID: ser.uid,
			Tags:              cloneMap(ser.tags),
			Instances:         make([]EventInstance, 0, ser.live),
		}
		for i := range ser.insts {
			rec := &ser.insts[i]
			if rec.flags&flagRemoved != 0 {
				continue
			}
			s.Instances = append(s.Instances, EventInstance{
				SOPInstanceUID:    rec.sop,
				SOPClassUID:       rec.kind.class,
				TransferSyntaxUID: rec.kind.ts,
				File:              ser.fileOf(rec),
				Tags:              ser.tagsOf(rec),
			})
		}
		ev.Series = append(ev.Series, s)
	}
	return ev
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
