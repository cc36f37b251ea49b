package dicomrecv

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/assoc"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/tlsconf"
	"github.com/dicomrecv/dicomrecv/storage"
	"github.com/dicomrecv/dicomrecv/storage/s3"
)

// Identity of this implementation in associations and file meta
// information. The class UID is under the UUID-derived root 2.25 (PS3.5
// §B.2), generated once for dicomrecv and never changed.
const (
	ImplementationClassUID    = "2.25.195702624614127584753900411881091275810"
	ImplementationVersionName = "DICOMRECV_0.1"
)

// Defaults of the configuration. Each is documented in docs/configuration.md.
const (
	DefaultAETitle        = "STORE-SCP"
	DefaultMaxPDULength   = 16384
	MinMaxPDULength       = 4096
	MaxMaxPDULength       = 16 << 20
	DefaultStudyTimeout   = 30 * time.Second
	DefaultARTIMTimeout   = 30 * time.Second
	DefaultIdleTimeout    = 120 * time.Second
	DefaultDIMSETimeout   = 60 * time.Second
	DefaultPDUReadTimeout = 60 * time.Second
	// DefaultMaxAssociations bounds concurrent associations; over it an
	// association is rejected (transient, local limit exceeded).
	DefaultMaxAssociations = 100
	// MaxPendingEvents is how many events may wait for the handlers before
	// the receiver holds back its C-STORE responses (back-pressure: events
	// are never dropped).
	MaxPendingEvents = 10000
)

// Bounds of the limits New accepts, besides MaxPDULength's.
const (
	minAssociateRequestSize = 1024
	maxAssociateRequestSize = 1 << 20
	maxSequenceDepthLimit   = 1000
)

// bounded returns a limit's setting: def when v is 0, else v, which must
// lie within lo..hi (an error naming field otherwise).
func bounded(field string, v, def, lo, hi int) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v < lo || v > hi:
		return 0, cfgErr(field, "%d is outside %d to %d", v, lo, hi)
	}
	return v, nil
}

// Values of the mode fields.
const (
	// AbstractSyntaxMode values.
	ModeAllStorage = "AllStorage"
	ModeAll        = "All"
	ModeCustom     = "Custom"
	// TransferSyntaxMode values (besides ModeAll and ModeCustom).
	ModeUncompressedOnly = "UncompressedOnly"

	// StorageBackend values.
	BackendFilesystem = "Filesystem"
	BackendS3         = "S3"
)

// Config configures a Server. The zero value of every field is its default,
// except where a field says otherwise. Field names follow the seed's option
// names (docs/configuration.md maps them).
type Config struct {
	// Host is the address to listen on; empty means every interface, IPv4
	// and IPv6.
	Host string
	// Port is the TCP port; 0 picks a free one (see Server.Addr).
	Port int
	// AETitle is the receiver's own AE title (the seed's callingAeTitle):
	// 1 to 16 characters, no backslash or control characters. Default
	// "STORE-SCP". Logs and events name it; RequireCalledAETitle compares
	// the called AE title with it.
	AETitle string

	// StorageBackend is "Filesystem" (default) or "S3".
	StorageBackend string
	// OutDir is the root of the filesystem storage (required for the
	// Filesystem backend; created if missing). With the S3 backend it is
	// optional: when set, the study journal is kept in {OutDir}/.dicomrecv,
	// so a crash loses no pending study event.
	OutDir string
	// S3 configures the S3 backend (the seed's s3Config), required when
	// StorageBackend is "S3".
	S3 *S3Config
	// DatasetOnly stores the data set alone, without the Part-10 preamble
	// and file meta information (the seed's storeWithFileMeta: false).
	DatasetOnly bool
	// Fsync makes every stored file and its directory durable before the
	// C-STORE response. nil means true.
	Fsync *bool
	// DuplicatePolicy is "overwrite" (default), "keep" or "reject": what
	// happens when an instance that is already stored arrives again.
	DuplicatePolicy string

	// Strict aborts an association whose peer sends a P-DATA-TF PDU longer
	// than MaxPDULength. When false, up to max(4 × MaxPDULength, 1 MiB) is
	// tolerated.
	Strict bool
	// MaxPDULength is the maximum P-DATA-TF PDU length announced to peers:
	// 4096 to 16 MiB, default 16384.
	MaxPDULength int

	// AbstractSyntaxMode is "AllStorage" (default: every Storage SOP Class
	// of the standard, retired ones included), "All" (any SOP class) or
	// "Custom" (AbstractSyntaxes). Verification is always accepted.
	AbstractSyntaxMode string
	// AbstractSyntaxes lists the SOP classes of Custom mode, as UIDs or
	// keywords (CTImageStorage).
	AbstractSyntaxes []string
	// TransferSyntaxMode is "All" (default: every standard transfer
	// syntax), "UncompressedOnly" (implicit LE, explicit LE, explicit BE) or
	// "Custom" (TransferSyntaxes).
	TransferSyntaxMode string
	// TransferSyntaxes lists the transfer syntaxes of Custom mode, as UIDs
	// or names.
	TransferSyntaxes []string

	// Timeouts. Zero means the default; a negative value means none.
	//
	// ARTIMTimeout bounds the wait for the A-ASSOCIATE-RQ after a
	// connection opens, and for the close after a release or abort
	// (PS3.8 §9.1.5). Default 30 s.
	ARTIMTimeout time.Duration
	// IdleTimeout bounds the wait for the next message on an open
	// association. Default 120 s.
	IdleTimeout time.Duration
	// DIMSETimeout bounds the wait for each further PDU of a message in
	// progress (a sender that stops mid-object) and each write. Default 60 s.
	DIMSETimeout time.Duration
	// PDUReadTimeout bounds the time from the first to the last byte of one
	// PDU, so a peer that trickles bytes is cut off. Default 60 s.
	PDUReadTimeout time.Duration
	// MaxAssociationLifetime ends any association older than this (0 = no
	// limit).
	MaxAssociationLifetime time.Duration

	// MaxAssociations bounds concurrent associations (default 100; a
	// negative value means no limit). Over it a request is rejected
	// (A-ASSOCIATE-RJ transient, source 3, reason 2: local limit exceeded).
	// Connections that have not yet sent their request do not count: they
	// are bounded by ARTIMTimeout and MaxPendingConnections.
	MaxAssociations int
	// MaxAssociationsPerPeer bounds the associations of one remote address
	// (0 = no limit), rejected like MaxAssociations.
	MaxAssociationsPerPeer int
	// MaxObjectSize bounds the data set of one C-STORE, in bytes (0 = no
	// limit). A larger one is not stored and is answered with status 0xC007.
	MaxObjectSize int64
	// MaxPresentationContexts caps the presentation contexts of one
	// association request (default and maximum 128, PS3.8 §9.3.2.2); a
	// request with more is rejected (permanent, source 1, reason 1).
	MaxPresentationContexts int
	// MaxAssociateRequestSize caps the A-ASSOCIATE-RQ PDU in bytes (default
	// 65536, from 1024 to 1 MiB); a larger one is aborted unread.
	MaxAssociateRequestSize int
	// MaxSequenceDepth caps the nesting of sequences in a data set's header
	// (default 64); a deeper one is answered 0xC001.
	MaxSequenceDepth int
	// MinFreeDisk, in bytes, is the free space the filesystem storage must
	// keep (0 = no check). Below it a C-STORE is answered with 0xA700
	// (out of resources) without storing anything.
	MinFreeDisk int64

	// TLS, when set, makes the receiver speak DICOM over TLS only (PS3.15
	// Annex B.12/B.13: TLS 1.2 or later, the BCP 195 cipher suites),
	// optionally requiring client certificates.
	TLS *TLSConfig

	// RequireCalledAETitle rejects (reason 7, called AE title not
	// recognized) a request that does not call AETitle.
	RequireCalledAETitle bool
	// AllowedCallingAETitles, when not empty, are the only calling AE
	// titles accepted (others: reason 3, calling AE title not recognized).
	AllowedCallingAETitles []string
	// Peers ties calling AE titles to the addresses they may connect from:
	// a calling AE title listed here is accepted only from its hosts
	// (reason 3 otherwise). Other AE titles are unaffected.
	Peers []Peer

	// ExtractTags names the attributes rendered into each FileStoredEvent's
	// Tags (and the study event's levels): keywords ("PatientName"), tags
	// ("00100010" or "(0010,0010)"), or the seed's tag sets as "@default",
	// "@ct", ... (see CommonTagSets). Unknown names are errors.
	ExtractTags []string
	// ExtractCustomTags are private or vendor tags to extract under names
	// of the user's choosing; they are rendered whatever their VR.
	ExtractCustomTags []CustomTag

	// StudyTimeout is the quiet period after which a study is complete:
	// every stored instance of the study restarts it, and when no instance
	// arrived for StudyTimeout, OnStudyCompleted fires once with the whole
	// study. Fractions of seconds are allowed. Default 30 s.
	StudyTimeout time.Duration

	// BeforeStoreTimeout bounds each OnBeforeStore callback (default 10 s);
	// a callback that overruns it refuses the object.
	BeforeStoreTimeout time.Duration
	// CoercionStatus is the status of a C-STORE whose object the
	// OnBeforeStore callback changed: "warning" (default) answers 0xB000,
	// Coercion of Data Elements (PS3.4 §B.2.3); "success" answers 0x0000
	// for senders that mishandle warnings.
	CoercionStatus string

	// MetricsAddr, when set (e.g. ":9090"), serves /metrics (Prometheus),
	// /healthz (alive) and /readyz (listening and storage writable).
	MetricsAddr string
	// PprofAddr, when set, serves net/http/pprof (keep it on localhost).
	PprofAddr string

	// Verbose logs every association, context, stored file and failure.
	Verbose bool
	// Logger receives the logs; nil means text to stderr.
	Logger *slog.Logger
}

// TLSConfig names the files of DICOM TLS.
type TLSConfig struct {
	// CertFile and KeyFile are the server certificate (chain) and private
	// key, PEM encoded.
	CertFile string `json:"certFile" yaml:"certFile"`
	KeyFile  string `json:"keyFile" yaml:"keyFile"`
	// CAFile holds the authorities whose client certificates are accepted
	// (PEM). Without it, no client certificate is asked for.
	CAFile string `json:"caFile" yaml:"caFile"`
	// RequireClientCert refuses clients without a certificate signed by
	// CAFile (mutual authentication).
	RequireClientCert bool `json:"requireClientCert" yaml:"requireClientCert"`
}

// S3Config configures the S3 storage backend: bucket, credentials (the AWS
// default chain when AccessKey and SecretKey are empty), endpoint for
// S3-compatible stores, region (default us-east-1), key prefix, path-style
// addressing, part size and retries. Credentials never appear in logs,
// events or errors. See storage/s3.Config for every field.
type S3Config = s3.Config

// Peer ties an AE title to the hosts it may connect from.
type Peer struct {
	// AETitle is the peer's calling AE title.
	AETitle string `json:"aeTitle" yaml:"aeTitle"`
	// Host is an IP address ("10.1.2.3", "fd00::7"), a CIDR prefix
	// ("10.1.0.0/16") or a host name, resolved once at start-up. Several
	// may be given separated by commas.
	Host string `json:"host" yaml:"host"`
}

// ConfigError is a bad configuration value; Field names it (Go field name
// or, from the CLI, the file key).
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "config: " + e.Field + ": " + e.Msg }

func cfgErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// settings is a validated, normalised Config.
type settings struct {
	Config
	fsync     bool
	duplicate storage.DuplicatePolicy
	abstract  func(string) bool
	transfer  func(string) bool
	aeTitle   string
	maxPDU    uint32
	extract   []dicom.ExtractSpec
	peers     []assoc.Peer
	tls       *tls.Config
	coercion  uint16
	log       *slog.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// validate checks every field and fills the defaults. Errors name the field.
func (c Config) validate() (*settings, error) {
	s := &settings{Config: c}
	if c.Port < 0 || c.Port > 65535 {
		return nil, cfgErr("Port", "%d is not a TCP port (0-65535)", c.Port)
	}
	if c.AETitle == "" {
		s.AETitle = DefaultAETitle
	}
	ae, err := assoc.ValidateAETitle(s.AETitle)
	if err != nil || len(s.AETitle) > 16 {
		if err == nil {
			err = errors.New("longer than 16 characters")
		}
		return nil, cfgErr("AETitle", "%v", err)
	}
	s.aeTitle = ae

	switch c.StorageBackend {
	case "", BackendFilesystem:
		s.StorageBackend = BackendFilesystem
		if c.OutDir == "" {
			return nil, cfgErr("OutDir", "required for the Filesystem storage backend")
		}
	case BackendS3:
		if c.S3 == nil {
			return nil, cfgErr("S3", "required for the S3 storage backend")
		}
		s3c := *c.S3
		if err := s3c.Validate(); err != nil {
			return nil, cfgErr("S3", "%v", err)
		}
	default:
		return nil, cfgErr("StorageBackend", "%q: want %q or %q", c.StorageBackend, BackendFilesystem, BackendS3)
	}
	s.fsync = c.Fsync == nil || *c.Fsync
	if s.duplicate, err = storage.ParseDuplicatePolicy(c.DuplicatePolicy); err != nil {
		return nil, cfgErr("DuplicatePolicy", "%v", err)
	}

	if s.MaxPDULength, err = bounded("MaxPDULength", c.MaxPDULength, DefaultMaxPDULength, MinMaxPDULength, MaxMaxPDULength); err != nil {
		return nil, err
	}
	s.maxPDU = uint32(s.MaxPDULength)

	if s.abstract, err = abstractPolicy(c.AbstractSyntaxMode, c.AbstractSyntaxes); err != nil {
		return nil, err
	}
	if s.transfer, err = transferPolicy(c.TransferSyntaxMode, c.TransferSyntaxes); err != nil {
		return nil, err
	}

	if s.extract, err = resolveExtract(c.ExtractTags, c.ExtractCustomTags); err != nil {
		return nil, err
	}

	switch {
	case c.StudyTimeout == 0:
		s.StudyTimeout = DefaultStudyTimeout
	case c.StudyTimeout < 0:
		return nil, cfgErr("StudyTimeout", "%v: must be greater than 0", c.StudyTimeout)
	}

	switch {
	case c.BeforeStoreTimeout == 0:
		s.BeforeStoreTimeout = DefaultBeforeStoreTimeout
	case c.BeforeStoreTimeout < 0:
		return nil, cfgErr("BeforeStoreTimeout", "%v: must be greater than 0", c.BeforeStoreTimeout)
	}
	switch c.CoercionStatus {
	case "", "warning":
		s.coercion = dimse.StatusCoercion
	case "success":
		s.coercion = dimse.StatusSuccess
	default:
		return nil, cfgErr("CoercionStatus", "%q: want \"warning\" or \"success\"", c.CoercionStatus)
	}

	s.ARTIMTimeout = orDefault(c.ARTIMTimeout, DefaultARTIMTimeout)
	s.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	s.DIMSETimeout = orDefault(c.DIMSETimeout, DefaultDIMSETimeout)
	s.PDUReadTimeout = orDefault(c.PDUReadTimeout, DefaultPDUReadTimeout)
	if c.MaxAssociationLifetime < 0 {
		s.MaxAssociationLifetime = 0
	}
	switch {
	case c.MaxAssociations == 0:
		s.MaxAssociations = DefaultMaxAssociations
	case c.MaxAssociations < 0:
		s.MaxAssociations = 0
	}
	if c.MaxAssociationsPerPeer < 0 {
		return nil, cfgErr("MaxAssociationsPerPeer", "%d: must be 0 (no limit) or more", c.MaxAssociationsPerPeer)
	}
	if s.MaxPresentationContexts, err = bounded("MaxPresentationContexts", c.MaxPresentationContexts,
		pdu.MaxPresentationContexts, 1, pdu.MaxPresentationContexts); err != nil {
		return nil, err
	}
	if s.MaxAssociateRequestSize, err = bounded("MaxAssociateRequestSize", c.MaxAssociateRequestSize,
		assoc.MaxAssociateRQLength, minAssociateRequestSize, maxAssociateRequestSize); err != nil {
		return nil, err
	}
	if s.MaxSequenceDepth, err = bounded("MaxSequenceDepth", c.MaxSequenceDepth, dicom.DefaultMaxDepth, 1, maxSequenceDepthLimit); err != nil {
		return nil, err
	}
	if c.MaxObjectSize < 0 {
		return nil, cfgErr("MaxObjectSize", "%d: must be 0 (no limit) or more", c.MaxObjectSize)
	}
	if c.MinFreeDisk < 0 {
		return nil, cfgErr("MinFreeDisk", "%d: must be 0 (no check) or more", c.MinFreeDisk)
	}
	s.AllowedCallingAETitles = slices.Clone(c.AllowedCallingAETitles) // the caller's slice stays as it is
	for i, ae := range c.AllowedCallingAETitles {
		t, err := assoc.ValidateAETitle(ae)
		if err != nil {
			return nil, cfgErr("AllowedCallingAETitles", "entry %d: %v", i+1, err)
		}
		s.AllowedCallingAETitles[i] = t
	}
	if s.peers, err = resolvePeers(c.Peers); err != nil {
		return nil, err
	}
	if c.TLS != nil {
		if s.tls, err = tlsconf.Build(tlsconf.Config{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile,
			CAFile: c.TLS.CAFile, RequireClientCert: c.TLS.RequireClientCert}); err != nil {
			return nil, cfgErr("TLS", "%v", err)
		}
	}
	s.log = c.Logger
	if s.log == nil {
		level := slog.LevelInfo
		s.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	return s, nil
}

func abstractPolicy(mode string, list []string) (func(string) bool, error) {
	switch mode {
	case "", ModeAllStorage:
		if len(list) > 0 {
			return nil, cfgErr("AbstractSyntaxes", "set, but AbstractSyntaxMode is not %q", ModeCustom)
		}
		return dicom.IsStorageSOPClass, nil
	case ModeAll:
		if len(list) > 0 {
			return nil, cfgErr("AbstractSyntaxes", "set, but AbstractSyntaxMode is not %q", ModeCustom)
		}
		return func(string) bool { return true }, nil
	case ModeCustom:
		if len(list) == 0 {
			return nil, cfgErr("AbstractSyntaxes", "empty, but AbstractSyntaxMode is %q", ModeCustom)
		}
		set := map[string]bool{}
		names, err := expandSets(list, CommonSOPClasses())
		if err != nil {
			return nil, cfgErr("AbstractSyntaxes", "%v", err)
		}
		for _, name := range names {
			uid, err := dicom.ResolveSOPClass(name)
			if err != nil {
				return nil, cfgErr("AbstractSyntaxes", "%v", err)
			}
			set[uid] = true
		}
		return func(uid string) bool { return set[uid] }, nil
	}
	return nil, cfgErr("AbstractSyntaxMode", "%q: want %s, %s or %s", mode, ModeAllStorage, ModeAll, ModeCustom)
}

// uncompressed is the seed's `uncompressed` transfer syntax set, which
// UncompressedOnly accepts (the reference forgets explicit big endian).
var uncompressed = []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian}

func transferPolicy(mode string, list []string) (func(string) bool, error) {
	set := map[string]bool{}
	switch mode {
	case "", ModeAll:
		if len(list) > 0 {
			return nil, cfgErr("TransferSyntaxes", "set, but TransferSyntaxMode is not %q", ModeCustom)
		}
		for _, ts := range dicom.TransferSyntaxes() {
			set[ts.UID] = true
		}
	case ModeUncompressedOnly:
		if len(list) > 0 {
			return nil, cfgErr("TransferSyntaxes", "set, but TransferSyntaxMode is not %q", ModeCustom)
		}
		for _, ts := range uncompressed {
			set[ts] = true
		}
	case ModeCustom:
		if len(list) == 0 {
			return nil, cfgErr("TransferSyntaxes", "empty, but TransferSyntaxMode is %q", ModeCustom)
		}
		names, err := expandSets(list, CommonTransferSyntaxes())
		if err != nil {
			return nil, cfgErr("TransferSyntaxes", "%v", err)
		}
		for _, name := range names {
			uid, err := dicom.ResolveTransferSyntax(name)
			if err != nil {
				return nil, cfgErr("TransferSyntaxes", "%v", err)
			}
			set[uid] = true
		}
	default:
		return nil, cfgErr("TransferSyntaxMode", "%q: want %s, %s or %s", mode, ModeAll, ModeUncompressedOnly, ModeCustom)
	}
	return func(uid string) bool { return set[uid] }, nil
}

// resolvePeers checks the Peers entries and resolves their hosts.
func resolvePeers(peers []Peer) ([]assoc.Peer, error) {
	var out []assoc.Peer
	for i, p := range peers {
		ae, err := assoc.ValidateAETitle(p.AETitle)
		if err != nil {
			return nil, cfgErr("Peers", "entry %d: %v", i+1, err)
		}
		ap := assoc.Peer{AETitle: ae}
		for _, h := range strings.Split(p.Host, ",") {
			h = strings.TrimSpace(h)
			switch {
			case h == "":
				return nil, cfgErr("Peers", "entry %d (%s): empty host", i+1, ae)
			case strings.Contains(h, "/"):
				pfx, err := netip.ParsePrefix(h)
				if err != nil {
					return nil, cfgErr("Peers", "entry %d (%s): %v", i+1, ae, err)
				}
				ap.Hosts = append(ap.Hosts, pfx.Masked())
			default:
				if addr, err := netip.ParseAddr(h); err == nil {
					ap.Hosts = append(ap.Hosts, hostPrefix(addr))
					continue
				}
				addrs, err := net.LookupHost(h)
				if err != nil {
					return nil, cfgErr("Peers", "entry %d (%s): host %q: %v", i+1, ae, h, err)
				}
				for _, a := range addrs {
					if addr, err := netip.ParseAddr(a); err == nil {
						ap.Hosts = append(ap.Hosts, hostPrefix(addr))
					}
				}
			}
		}
		out = append(out, ap)
	}
	return out, nil
}

// hostPrefix is the prefix of the one address addr (IPv4-mapped IPv6
// addresses as IPv4).
func hostPrefix(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen())
}

// expandSets replaces each "@name" of list by the set of that name
// (matched without regard to case), keeping the other entries.
func expandSets(list []string, sets map[string][]string) ([]string, error) {
	var out []string
	for _, name := range list {
		if !strings.HasPrefix(name, "@") {
			out = append(out, name)
			continue
		}
		found := false
		for k, v := range sets {
			if strings.EqualFold(k, name[1:]) {
				out = append(out, v...)
				found = true
				break
			}
		}
		if !found {
			keys := make([]string, 0, len(sets))
			for k := range sets {
				keys = append(keys, "@"+k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("%s: unknown set (known: %s)", name, strings.Join(keys, ", "))
		}
	}
	return out, nil
}

// resolveExtract turns ExtractTags and ExtractCustomTags into extraction
// specs, keyed by keyword (or, for a tag the dictionary does not know, by
// its 8 hex digits) and by custom name.
func resolveExtract(names []string, custom []CustomTag) ([]dicom.ExtractSpec, error) {
	expanded, err := expandSets(names, tagSetsByName())
	if err != nil {
		return nil, cfgErr("ExtractTags", "%v", err)
	}
	var specs []dicom.ExtractSpec
	seen := map[string]bool{}
	for _, name := range expanded {
		tag, entry, err := dicom.ResolveTag(name)
		if err != nil {
			return nil, cfgErr("ExtractTags", "%v", err)
		}
		key := entry.Keyword
		if key == "" {
			key = tag.Hex()
		}
		if !seen[key] {
			seen[key] = true
			specs = append(specs, dicom.ExtractSpec{Name: key, Tag: tag})
		}
	}
	customNames := map[string]bool{}
	for i, ct := range custom {
		if len(ct.Tag) != 8 {
			return nil, cfgErr("ExtractCustomTags", "entry %d: tag %q is not 8 hex digits (e.g. 00091001)", i+1, ct.Tag)
		}
		tag, err := dicom.ParseTag(ct.Tag)
		if err != nil {
			return nil, cfgErr("ExtractCustomTags", "entry %d: tag %q is not 8 hex digits (e.g. 00091001)", i+1, ct.Tag)
		}
		switch {
		case strings.TrimSpace(ct.Name) == "" || ct.Name != strings.TrimSpace(ct.Name):
			return nil, cfgErr("ExtractCustomTags", "entry %d (%s): name %q is empty or has surrounding spaces", i+1, ct.Tag, ct.Name)
		case customNames[ct.Name]:
			return nil, cfgErr("ExtractCustomTags", "name %q is used twice", ct.Name)
		}
		if _, ok := dicom.LookupKeyword(ct.Name); ok {
			return nil, cfgErr("ExtractCustomTags", "name %q is a standard keyword; choose another", ct.Name)
		}
		if seen[ct.Name] {
			return nil, cfgErr("ExtractCustomTags", "name %q is also in ExtractTags", ct.Name)
		}
		customNames[ct.Name] = true
		specs = append(specs, dicom.ExtractSpec{Name: ct.Name, Tag: tag, Custom: true})
	}
	return specs, nil
}

func trimUID(s string) string { return strings.TrimRight(s, "\x00 ") }
