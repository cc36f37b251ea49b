// Package metrics counts what the receiver does and serves the counts to
// Prometheus, with liveness and readiness probes, on an HTTP endpoint of its
// own (the metricsAddr option), and optionally the Go profiler on another
// (pprofAddr).
//
// A Metrics holds its own prometheus.Registry; nothing is registered with the
// process-global default registry. Its methods are safe for concurrent use
// and are no-ops on a nil *Metrics, so the receiver calls them whether or
// not metrics are enabled. The methods on the C-STORE path do not allocate
// once a (status, SOP class) pair has been seen.
//
// Label values are bounded whatever peers send: SOP classes outside the
// UID registry, unknown statuses, reasons, events and hooks all fold into
// "other".
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of the receiver.
const Namespace = "dicomrecv"

// storeDurationBuckets returns the upper bounds, in seconds, of the buckets
// of dicomrecv_cstore_duration_seconds: from a small object on a local link
// (about a millisecond) to a large multi-frame object on a slow one.
func storeDurationBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
}

// Metrics is the receiver's set of Prometheus metrics. The zero value is
// not usable; call New. A nil *Metrics ignores every call.
type Metrics struct {
	reg *prometheus.Registry

	assocActive   prometheus.Gauge
	assocAccepted prometheus.Counter
	assocRejected [len(rejectReasons)]prometheus.Counter
	assocAborted  *prometheus.CounterVec

	cstore        *prometheus.CounterVec
	receivedBytes prometheus.Counter
	storeDuration prometheus.Histogram

	beforeStoreRefused prometheus.Counter
	studiesCompleted   prometheus.Counter
	storageErrors      prometheus.Counter
	hookDelivered      *prometheus.CounterVec
	hookDropped        *prometheus.CounterVec

	// cstoreMu guards cstoreSeries, a cache of cstore's children: the
	// CounterVec hashes its label values on each lookup and its variadic
	// WithLabelValues allocates, so the hot path looks here first.
	cstoreMu     sync.RWMutex
	cstoreSeries map[cstoreKey]prometheus.Counter
}

type cstoreKey struct {
	status string
	sop    string
}

// Options tune New. The zero value is what the receiver uses.
type Options struct {
	// NoRuntimeMetrics leaves out the Go runtime (go_*) and process
	// (process_*) collectors that New registers by default.
	NoRuntimeMetrics bool
}

// New returns a Metrics with every metric registered on a new registry.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg:          prometheus.NewRegistry(),
		cstoreSeries: make(map[cstoreKey]prometheus.Counter),
	}
	m.assocActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "associations_active",
		Help: "Associations open now (connections accepted and not yet closed, negotiating ones included).",
	})
	m.assocAccepted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "associations_accepted_total",
		Help: "Associations accepted (A-ASSOCIATE-AC sent).",
	})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "associations_rejected_total",
		Help: "Associations rejected (A-ASSOCIATE-RJ sent), by reason.",
	}, []string{"reason"})
	for i, r := range rejectReasons {
		m.assocRejected[i] = rejected.WithLabelValues(r)
	}
	m.assocAborted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "associations_aborted_total",
		Help: "Associations ended by an A-ABORT, by who sent it (peer or local).",
	}, []string{"by"})
	m.assocAborted.WithLabelValues(AbortByPeer)
	m.assocAborted.WithLabelValues(AbortByUs)
	m.cstore = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "cstore_total",
		Help: "C-STORE operations answered, by response status (4 hex digits, or a range such as A7xx) and SOP class UID (registry UIDs only, else other).",
	}, []string{"status", "sop_class"})
	m.receivedBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "received_bytes_total",
		Help: "Data set bytes received in C-STORE operations, whatever their status.",
	})
	m.storeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "cstore_duration_seconds",
		Help:    "Time from a C-STORE request's command to its response, whatever the status.",
		Buckets: storeDurationBuckets(),
	})
	m.beforeStoreRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "before_store_refused_total",
		Help: "Objects refused by the before-store hook (onBeforeStore or its webhook).",
	})
	m.studiesCompleted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "studies_completed_total",
		Help: "StudyCompleted events emitted.",
	})
	m.storageErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "storage_errors_total",
		Help: "Storage backend failures (create, write, commit).",
	})
	m.hookDelivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "hook_delivered_total",
		Help: "Events delivered to a webhook (2xx) or a command (exit status 0), by hook and event.",
	}, []string{"hook", "event"})
	m.hookDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "hook_dropped_total",
		Help: "Events a webhook or command did not get, by hook, event and reason (queue-full, failed, timeout, shutdown).",
	}, []string{"hook", "event", "reason"})

	m.reg.MustRegister(m.assocActive, m.assocAccepted, rejected, m.assocAborted,
		m.cstore, m.receivedBytes, m.storeDuration,
		m.beforeStoreRefused, m.studiesCompleted, m.storageErrors,
		m.hookDelivered, m.hookDropped)
	if !opts.NoRuntimeMetrics {
		m.reg.MustRegister(collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry returns the registry the metrics are on, for adding collectors
// of other components. It is nil for a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// AssociationOpened counts a connection accepted by the listener in
// dicomrecv_associations_active. Each call must be matched by exactly one
// AssociationClosed, whatever becomes of the association.
func (m *Metrics) AssociationOpened() {
	if m == nil {
		return
	}
	m.assocActive.Inc()
}

// AssociationClosed ends what AssociationOpened counted.
func (m *Metrics) AssociationClosed() {
	if m == nil {
		return
	}
	m.assocActive.Dec()
}

// AssociationAccepted counts an A-ASSOCIATE-AC sent.
func (m *Metrics) AssociationAccepted() {
	if m == nil {
		return
	}
	m.assocAccepted.Inc()
}

// AssociationRejected counts an A-ASSOCIATE-RJ sent, by reason: one of the
// Reject constants (RejectReason maps the RJ's fields to one); anything else
// counts as RejectOther.
func (m *Metrics) AssociationRejected(reason string) {
	if m == nil {
		return
	}
	for i, r := range rejectReasons {
		if r == reason {
			m.assocRejected[i].Inc()
			return
		}
	}
	m.assocRejected[len(rejectReasons)-1].Inc() // RejectOther
}

// AssociationAborted counts an association that ended in an A-ABORT: by is
// AbortByPeer or AbortByUs (anything else counts as "other").
func (m *Metrics) AssociationAborted(by string) {
	if m == nil {
		return
	}
	m.assocAborted.WithLabelValues(oneOf(by, AbortByPeer, AbortByUs)).Inc()
}

// CStore counts one answered C-STORE: its response status, the Affected SOP
// Class UID of the request (padding is trimmed; UIDs outside the registry
// count as "other"), the data set bytes received for it (also for failures:
// they crossed the network) and the time from the request's command to the
// response. It does not allocate once the (status, SOP class) pair has been
// seen.
func (m *Metrics) CStore(status uint16, sopClass string, bytes int64, elapsed time.Duration) {
	if m == nil {
		return
	}
	k := cstoreKey{statusLabel(status), sopClassLabel(sopClass)}
	m.cstoreMu.RLock()
	c, ok := m.cstoreSeries[k]
	m.cstoreMu.RUnlock()
	if !ok {
		m.cstoreMu.Lock()
		if c, ok = m.cstoreSeries[k]; !ok {
			c = m.cstore.WithLabelValues(k.status, k.sop)
			m.cstoreSeries[k] = c
		}
		m.cstoreMu.Unlock()
	}
	c.Inc()
	if bytes > 0 {
		m.receivedBytes.Add(float64(bytes))
	}
	m.storeDuration.Observe(elapsed.Seconds())
}

// BeforeStoreRefused counts an object refused by the before-store hook.
func (m *Metrics) BeforeStoreRefused() {
	if m == nil {
		return
	}
	m.beforeStoreRefused.Inc()
}

// StudyCompleted counts a StudyCompleted event.
func (m *Metrics) StudyCompleted() {
	if m == nil {
		return
	}
	m.studiesCompleted.Inc()
}

// StorageError counts a failure of the storage backend.
func (m *Metrics) StorageError() {
	if m == nil {
		return
	}
	m.storageErrors.Inc()
}

// HookDelivered counts an event delivered by a hook: hook is HookWebhook or
// HookCommand, event the event's name ("FileStored"...). It fits the
// OnDelivered callback of the hooks package.
func (m *Metrics) HookDelivered(hook, event string) {
	if m == nil {
		return
	}
	m.hookDelivered.WithLabelValues(hookLabel(hook), eventLabel(event)).Inc()
}

// HookDropped counts an event a hook lost: reason is one of the Drop
// constants (the hooks package's reasons). It fits the OnDrop callback of
// the hooks package.
func (m *Metrics) HookDropped(hook, event, reason string) {
	if m == nil {
		return
	}
	m.hookDropped.WithLabelValues(hookLabel(hook), eventLabel(event), dropLabel(reason)).Inc()
}
