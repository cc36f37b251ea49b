package main

import (
	"fmt"
	"math"
	"regexp"
)

// Corpus names.
const (
	corpusSmall = "small" // 2,000 CT slices of about 0.53 MB in 4 studies
	corpusLarge = "large" // 20 CT objects of 50-100 MB
	corpusGiant = "giant" // one CT object of 1 GiB
)

// Sender modes.
const (
	senderNoDelay = "nodelay" // storescu with TCP_NODELAY=1
	senderStock   = "stock"   // storescu as Debian ships it: Nagle on
)

// scenario is one cell of the matrix: what is sent, how.
type scenario struct {
	Corpus string `json:"corpus"`
	Assocs int    `json:"assocs"` // concurrent associations (storescu processes)
	PDU    int    `json:"pdu"`    // receiver's maximum PDU length, bytes
	Sender string `json:"sender"` // senderNoDelay or senderStock
}

// Name is a short identifier, e.g. "small-1a-16k-nodelay".
func (s scenario) Name() string {
	return fmt.Sprintf("%s-%da-%dk-%s", s.Corpus, s.Assocs, s.PDU/1024, s.Sender)
}

// Title describes the scenario in words.
func (s scenario) Title() string {
	what := map[string]string{
		corpusSmall: "2,000 CT slices (0.53 MB) in 4 studies",
		corpusLarge: "20 CT objects of 50-100 MB",
		corpusGiant: "one 1 GiB CT object",
	}[s.Corpus]
	assoc := "1 association"
	if s.Assocs > 1 {
		assoc = fmt.Sprintf("%d concurrent associations", s.Assocs)
	}
	sender := "sender TCP_NODELAY=1"
	if s.Sender == senderStock {
		sender = "stock sender (Nagle on)"
	}
	return fmt.Sprintf("%s, %s, PDU %d KiB, %s", what, assoc, s.PDU/1024, sender)
}

// Receiver kinds.
const (
	kindDicomrecv = "dicomrecv"
	kindStorescpB = "storescp+B"
	kindIgnore    = "storescp-ignore"
)

// receiverSpec is one receiver under test.
type receiverSpec struct {
	Kind  string `json:"kind"`
	Fsync bool   `json:"fsync"` // dicomrecv only; DCMTK never fsyncs
}

// Label names the receiver in tables; fork says whether DCMTK runs with
// --fork (the concurrent scenarios).
func (r receiverSpec) Label(fork bool) string {
	f := ""
	if fork {
		f = " --fork"
	}
	switch r.Kind {
	case kindDicomrecv:
		if r.Fsync {
			return "dicomrecv (fsync on)"
		}
		return "dicomrecv (fsync off)"
	case kindStorescpB:
		return "storescp +B" + f
	case kindIgnore:
		return "storescp --ignore" + f + " (ceiling)"
	}
	return r.Kind
}

// ID is a stable key for the receiver.
func (r receiverSpec) ID() string {
	if r.Kind == kindDicomrecv && r.Fsync {
		return "dicomrecv-fsync"
	}
	return r.Kind
}

var (
	recvDicomrecv      = receiverSpec{Kind: kindDicomrecv}
	recvDicomrecvFsync = receiverSpec{Kind: kindDicomrecv, Fsync: true}
	recvStorescpB      = receiverSpec{Kind: kindStorescpB}
	recvIgnore         = receiverSpec{Kind: kindIgnore}
)

// step is one run of the plan.
type step struct {
	Rep      int
	Scenario scenario
	Receiver receiverSpec
}

// planOptions selects the matrix.
type planOptions struct {
	Quick     bool
	Reps      int
	Large     bool           // quick mode: add the large objects
	Scenarios *regexp.Regexp // nil: all
	Receivers *regexp.Regexp // nil: all, matched against receiverSpec.ID
}

// scenarioSet is a scenario with the receivers it is run against.
type scenarioSet struct {
	Scenario  scenario
	Receivers []receiverSpec
}

// matrix lists the scenarios of a mode.
func matrix(o planOptions) []scenarioSet {
	const k16, k128 = 16384, 131072
	all := []receiverSpec{recvDicomrecv, recvDicomrecvFsync, recvStorescpB, recvIgnore}
	var sets []scenarioSet
	if o.Quick {
		three := []receiverSpec{recvDicomrecv, recvStorescpB, recvIgnore}
		for _, snd := range []string{senderNoDelay, senderStock} {
			sets = append(sets, scenarioSet{scenario{corpusSmall, 1, k16, snd}, three})
		}
		if o.Large {
			sets = append(sets, scenarioSet{scenario{corpusLarge, 1, k16, senderNoDelay}, three})
		}
	} else {
		for _, assocs := range []int{1, 4} {
			for _, pdu := range []int{k16, k128} {
				for _, snd := range []string{senderNoDelay, senderStock} {
					sets = append(sets, scenarioSet{scenario{corpusSmall, assocs, pdu, snd}, all})
				}
			}
		}
		for _, pdu := range []int{k16, k128} {
			for _, snd := range []string{senderNoDelay, senderStock} {
				sets = append(sets, scenarioSet{scenario{corpusLarge, 1, pdu, snd}, all})
			}
		}
		for _, pdu := range []int{k16, k128} {
			sets = append(sets, scenarioSet{scenario{corpusGiant, 1, pdu, senderNoDelay},
				[]receiverSpec{recvDicomrecv, recvDicomrecvFsync, recvStorescpB}})
		}
	}
	var out []scenarioSet
	for _, s := range sets {
		if o.Scenarios != nil && !o.Scenarios.MatchString(s.Scenario.Name()) {
			continue
		}
		var rs []receiverSpec
		for _, r := range s.Receivers {
			if o.Receivers == nil || o.Receivers.MatchString(r.ID()) {
				rs = append(rs, r)
			}
		}
		if len(rs) > 0 {
			out = append(out, scenarioSet{s.Scenario, rs})
		}
	}
	return out
}

// plan orders the runs: repetition by repetition, every scenario within a
// repetition, and within a scenario the receivers one after the other, the
// order rotated by one each repetition. Runs compared in a ratio are
// therefore minutes apart at most, and no receiver always goes first.
func plan(sets []scenarioSet, reps int) []step {
	var steps []step
	for rep := 0; rep < reps; rep++ {
		for _, s := range sets {
			n := len(s.Receivers)
			for i := 0; i < n; i++ {
				steps = append(steps, step{Rep: rep, Scenario: s.Scenario, Receiver: s.Receivers[(i+rep)%n]})
			}
		}
	}
	return steps
}

// runResult is the outcome of one run.
type runResult struct {
	Scenario   scenario     `json:"scenario"`
	Receiver   receiverSpec `json:"receiver"`
	Rep        int          `json:"rep"`
	Files      int          `json:"files"`
	Bytes      int64        `json:"bytes"`
	Seconds    float64      `json:"seconds"`    // first sender start to last sender exit
	CPUSeconds float64      `json:"cpuSeconds"` // receiver, children included
	PeakRSSKiB int64        `json:"peakRssKiB"` // receiver, max over its processes
	SenderCPU  float64      `json:"senderCpuSeconds"`
	// OtherCores is the CPU used during the timed part by everything
	// outside the benchmark (other processes, kernel threads), in cores:
	// machine-wide busy time minus receiver, senders and harness.
	OtherCores float64 `json:"otherCores"`
	// QuietWait is how long the run waited for the machine to go quiet
	// before it started.
	QuietWait float64 `json:"quietWaitSeconds"`
	// Attempts is how many times the run was made (a disturbed run is run
	// again, and the least disturbed attempt kept); 0 or 1: once.
	Attempts int    `json:"attempts,omitempty"`
	Err      string `json:"error,omitempty"`
}

// ok reports whether the run produced numbers.
func (r runResult) ok() bool { return r.Err == "" && r.Seconds > 0 }

// FilesPerSec is files stored per second; NaN for a failed run.
func (r runResult) FilesPerSec() float64 {
	if !r.ok() {
		return math.NaN()
	}
	return float64(r.Files) / r.Seconds
}

// MBPerSec is megabytes (10^6 bytes of the files sent) per second.
func (r runResult) MBPerSec() float64 {
	if !r.ok() {
		return math.NaN()
	}
	return float64(r.Bytes) / 1e6 / r.Seconds
}

// CPUPerGB is receiver CPU seconds per gigabyte (10^9 bytes) received.
func (r runResult) CPUPerGB() float64 {
	if !r.ok() || r.Bytes == 0 {
		return math.NaN()
	}
	return r.CPUSeconds / (float64(r.Bytes) / 1e9)
}

// Other is the load from outside the benchmark during the run, in cores.
func (r runResult) Other() float64 {
	if !r.ok() {
		return math.NaN()
	}
	return r.OtherCores
}

// PeakRSSMiB is the receiver's peak resident set size in MiB.
func (r runResult) PeakRSSMiB() float64 {
	if !r.ok() {
		return math.NaN()
	}
	return float64(r.PeakRSSKiB) / 1024
}
