package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dicomrecv/dicomrecv"
)

// fileConfig is the configuration file: exactly the option object of the
// seed's StoreScp constructor (same keys), plus dicomrecv's own keys. JSON
// is read as YAML (YAML 1.2 is a superset of JSON). Durations are seconds,
// sizes are bytes.
type fileConfig struct {
	Port               *int                  `yaml:"port"`
	CallingAETitle     *string               `yaml:"callingAeTitle"`
	AETitle            *string               `yaml:"aeTitle"` // alias of callingAeTitle
	OutDir             *string               `yaml:"outDir"`
	StorageBackend     *string               `yaml:"storageBackend"`
	StoreWithFileMeta  *bool                 `yaml:"storeWithFileMeta"`
	Strict             *bool                 `yaml:"strict"`
	MaxPDULength       *int                  `yaml:"maxPduLength"`
	Verbose            *bool                 `yaml:"verbose"`
	AbstractSyntaxMode *string               `yaml:"abstractSyntaxMode"`
	AbstractSyntaxes   []string              `yaml:"abstractSyntaxes"`
	TransferSyntaxMode *string               `yaml:"transferSyntaxMode"`
	TransferSyntaxes   []string              `yaml:"transferSyntaxes"`
	ExtractTags        []string              `yaml:"extractTags"`
	ExtractCustomTags  []dicomrecv.CustomTag `yaml:"extractCustomTags"`
	StudyTimeout       *seconds              `yaml:"studyTimeout"`

	Host            *string `yaml:"host"`
	Fsync           *bool   `yaml:"fsync"`
	DuplicatePolicy *string `yaml:"duplicatePolicy"`

	ARTIMTimeout           *seconds `yaml:"artimTimeout"`
	IdleTimeout            *seconds `yaml:"idleTimeout"`
	PDUReadTimeout         *seconds `yaml:"pduReadTimeout"`
	DIMSETimeout           *seconds `yaml:"dimseTimeout"`
	MaxAssociationLifetime *seconds `yaml:"maxAssociationLifetime"`
	ShutdownTimeout        *seconds `yaml:"shutdownTimeout"`
	MaxAssociations        *int     `yaml:"maxAssociations"`
	MaxAssociationsPerPeer *int     `yaml:"maxAssociationsPerPeer"`
	MaxObjectSize          *int64   `yaml:"maxObjectSize"`
	MinFreeDisk            *int64   `yaml:"minFreeDisk"`

	MaxPresentationContexts *int `yaml:"maxPresentationContexts"`
	MaxAssociateRequestSize *int `yaml:"maxAssociateRequestSize"`
	MaxSequenceDepth        *int `yaml:"maxSequenceDepth"`

	RequireCalledAETitle   *bool            `yaml:"requireCalledAeTitle"`
	AllowedCallingAETitles []string         `yaml:"allowedCallingAeTitles"`
	Peers                  []dicomrecv.Peer `yaml:"peers"`

	S3Config *s3File `yaml:"s3Config"`

	TLS *dicomrecv.TLSConfig `yaml:"tls"`

	BeforeStoreTimeout *seconds           `yaml:"beforeStoreTimeout"`
	CoercionStatus     *string            `yaml:"coercionStatus"`
	BeforeStoreWebhook *string            `yaml:"beforeStoreWebhook"`
	ModifyTags         map[string]*string `yaml:"modifyTags"`

	MetricsAddr             *string  `yaml:"metricsAddr"`
	PprofAddr               *string  `yaml:"pprofAddr"`
	EventWebhook            *string  `yaml:"eventWebhook"`
	OnFileStoredCommand     []string `yaml:"onFileStoredCommand"`
	OnStudyCompletedCommand []string `yaml:"onStudyCompletedCommand"`
	CommandConcurrency      *int     `yaml:"commandConcurrency"`
	CommandTimeout          *seconds `yaml:"commandTimeout"`
}

// s3File is the s3Config object: the seed's keys (bucket, accessKey,
// secretKey, endpoint, region) plus ours.
type s3File struct {
	Bucket                   string   `yaml:"bucket"`
	AccessKey                string   `yaml:"accessKey"`
	SecretKey                string   `yaml:"secretKey"`
	Endpoint                 string   `yaml:"endpoint"`
	Region                   string   `yaml:"region"`
	Prefix                   string   `yaml:"prefix"`
	ForcePathStyle           *bool    `yaml:"forcePathStyle"`
	PartSize                 int64    `yaml:"partSize"`
	MaxBufferedParts         int      `yaml:"maxBufferedParts"`
	RetryDeadline            *seconds `yaml:"retryDeadline"`
	DisableConditionalWrites bool     `yaml:"disableConditionalWrites"`
	ReportOverwrites         bool     `yaml:"reportOverwrites"`
}

// seconds is a duration written as a number of seconds (fractions allowed).
type seconds float64

func (s seconds) duration(key string) (time.Duration, error) {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("config: %s: %v is not a number of seconds >= 0", key, f)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// knownKeys lists the keys of fileConfig.
func knownKeys() map[string]int {
	keys := map[string]int{}
	t := reflect.TypeOf(fileConfig{})
	for i := 0; i < t.NumField(); i++ {
		keys[t.Field(i).Tag.Get("yaml")] = i
	}
	return keys
}

// loadConfigFile reads a JSON or YAML configuration file. Unknown keys and
// values of the wrong type are errors that name the key.
func loadConfigFile(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(data)
}

func parseConfig(data []byte) (*fileConfig, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: not valid JSON or YAML: %w", err)
	}
	fc := &fileConfig{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return fc, nil // empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: the file must hold one object of options")
	}
	keys := knownKeys()
	seen := map[string]bool{}
	v := reflect.ValueOf(fc).Elem()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i].Value, m.Content[i+1]
		idx, ok := keys[k]
		if !ok {
			return nil, fmt.Errorf("config: unknown key %q%s", k, suggestKey(k, keys))
		}
		if seen[k] {
			return nil, fmt.Errorf("config: key %q appears twice", k)
		}
		seen[k] = true
		if val.Tag == "!!null" {
			continue
		}
		f := v.Field(idx)
		if err := checkNestedKeys(k, val, f.Type()); err != nil {
			return nil, err
		}
		p := reflect.New(f.Type())
		if err := val.Decode(p.Interface()); err != nil {
			return nil, fmt.Errorf("config: key %q: %s", k, yamlErrText(err))
		}
		f.Set(p.Elem())
	}
	if fc.CallingAETitle != nil && fc.AETitle != nil && *fc.CallingAETitle != *fc.AETitle {
		return nil, fmt.Errorf("config: keys \"callingAeTitle\" and \"aeTitle\" (its alias) disagree")
	}
	return fc, nil
}

// checkNestedKeys refuses unknown keys inside objects (s3Config, the
// entries of peers and extractCustomTags), naming them as path.key.
func checkNestedKeys(path string, n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			if err := checkNestedKeys(fmt.Sprintf("%s[%d]", path, i), item, t.Elem()); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		known := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				known[name] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := known[k]
			if !ok {
				names := map[string]int{}
				for name := range known {
					names[name] = 0
				}
				return fmt.Errorf("config: unknown key %q%s", path+"."+k, suggestKey(k, names))
			}
			if err := checkNestedKeys(path+"."+k, n.Content[i+1], ft); err != nil {
				return err
			}
		}
	}
	return nil
}

func yamlErrText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.ReplaceAll(s, "unmarshal errors:\n  ", "")
	return s
}

// suggestKey returns ", did you mean X?" for the nearest known key.
func suggestKey(k string, keys map[string]int) string {
	best, bestD := "", 4
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := editDistance(strings.ToLower(k), strings.ToLower(name)); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// set copies the file's value p, when given, to dst.
func set[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// apply copies the file's settings onto cfg.
func (fc *fileConfig) apply(cfg *dicomrecv.Config, cli *cliSettings) error {
	set(&cfg.Port, fc.Port)
	set(&cfg.AETitle, fc.AETitle)
	set(&cfg.AETitle, fc.CallingAETitle)
	set(&cfg.OutDir, fc.OutDir)
	set(&cfg.StorageBackend, fc.StorageBackend)
	if fc.StoreWithFileMeta != nil {
		cfg.DatasetOnly = !*fc.StoreWithFileMeta
	}
	set(&cfg.Strict, fc.Strict)
	set(&cfg.MaxPDULength, fc.MaxPDULength)
	set(&cfg.Verbose, fc.Verbose)
	set(&cfg.AbstractSyntaxMode, fc.AbstractSyntaxMode)
	if fc.AbstractSyntaxes != nil {
		cfg.AbstractSyntaxes = fc.AbstractSyntaxes
	}
	set(&cfg.TransferSyntaxMode, fc.TransferSyntaxMode)
	if fc.TransferSyntaxes != nil {
		cfg.TransferSyntaxes = fc.TransferSyntaxes
	}
	if fc.ExtractTags != nil {
		cfg.ExtractTags = fc.ExtractTags
	}
	if fc.ExtractCustomTags != nil {
		cfg.ExtractCustomTags = fc.ExtractCustomTags
	}
	set(&cfg.Host, fc.Host)
	if fc.Fsync != nil {
		v := *fc.Fsync
		cfg.Fsync = &v
	}
	set(&cfg.DuplicatePolicy, fc.DuplicatePolicy)
	// What 0 means in the file, by key.
	const (
		zeroIsZero = iota
		zeroIsNone // no timeout: negative in Config
		zeroRefused
	)
	for _, d := range []struct {
		key  string
		src  *seconds
		dst  *time.Duration
		zero int
	}{
		{"studyTimeout", fc.StudyTimeout, &cfg.StudyTimeout, zeroRefused},
		{"artimTimeout", fc.ARTIMTimeout, &cfg.ARTIMTimeout, zeroIsNone},
		{"idleTimeout", fc.IdleTimeout, &cfg.IdleTimeout, zeroIsNone},
		{"pduReadTimeout", fc.PDUReadTimeout, &cfg.PDUReadTimeout, zeroIsNone},
		{"dimseTimeout", fc.DIMSETimeout, &cfg.DIMSETimeout, zeroIsNone},
		{"maxAssociationLifetime", fc.MaxAssociationLifetime, &cfg.MaxAssociationLifetime, zeroIsZero},
		{"shutdownTimeout", fc.ShutdownTimeout, &cli.shutdownTimeout, zeroIsZero},
		{"commandTimeout", fc.CommandTimeout, &cli.commandTimeout, zeroIsZero},
		{"beforeStoreTimeout", fc.BeforeStoreTimeout, &cfg.BeforeStoreTimeout, zeroRefused},
	} {
		if d.src == nil {
			continue
		}
		v, err := d.src.duration(d.key)
		if err != nil {
			return err
		}
		if v == 0 {
			switch d.zero {
			case zeroIsNone:
				v = -1 // in the file, 0 means "no timeout"; in Config, negative does
			case zeroRefused:
				return fmt.Errorf("config: %s: must be greater than 0", d.key)
			}
		}
		*d.dst = v
	}
	set(&cfg.MaxAssociationsPerPeer, fc.MaxAssociationsPerPeer)
	set(&cfg.MaxPresentationContexts, fc.MaxPresentationContexts)
	set(&cfg.MaxAssociateRequestSize, fc.MaxAssociateRequestSize)
	set(&cfg.MaxSequenceDepth, fc.MaxSequenceDepth)
	set(&cfg.MaxObjectSize, fc.MaxObjectSize)
	set(&cfg.MinFreeDisk, fc.MinFreeDisk)
	set(&cfg.RequireCalledAETitle, fc.RequireCalledAETitle)
	if fc.AllowedCallingAETitles != nil {
		cfg.AllowedCallingAETitles = fc.AllowedCallingAETitles
	}
	if fc.Peers != nil {
		cfg.Peers = fc.Peers
	}
	cfg.TLS = fc.TLS
	set(&cfg.MetricsAddr, fc.MetricsAddr)
	set(&cfg.PprofAddr, fc.PprofAddr)
	set(&cli.eventWebhook, fc.EventWebhook)
	cli.onFileStored, cli.onStudyCompleted = fc.OnFileStoredCommand, fc.OnStudyCompletedCommand
	set(&cli.commandConcurrency, fc.CommandConcurrency)
	set(&cli.beforeStoreWebhook, fc.BeforeStoreWebhook)
	cli.modifyTags = fc.ModifyTags
	set(&cfg.CoercionStatus, fc.CoercionStatus)
	if f := fc.S3Config; f != nil {
		c := &dicomrecv.S3Config{Bucket: f.Bucket, AccessKey: f.AccessKey, SecretKey: f.SecretKey, Endpoint: f.Endpoint,
			Region: f.Region, Prefix: f.Prefix, ForcePathStyle: f.ForcePathStyle, PartSize: f.PartSize,
			MaxBufferedParts: f.MaxBufferedParts, DisableConditionalWrites: f.DisableConditionalWrites,
			ReportOverwrites: f.ReportOverwrites}
		if f.RetryDeadline != nil {
			d, err := f.RetryDeadline.duration("s3Config.retryDeadline")
			if err != nil {
				return err
			}
			c.RetryDeadline = d
		}
		cfg.S3 = c
	}
	if fc.MaxAssociations != nil {
		cfg.MaxAssociations = *fc.MaxAssociations
		if cfg.MaxAssociations == 0 {
			cfg.MaxAssociations = -1 // 0 in the file: no limit
		}
	}
	return nil
}
