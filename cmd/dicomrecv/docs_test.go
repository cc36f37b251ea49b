package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv"
)

var fenceRE = regexp.MustCompile("(?s)```(json|yaml)\n(.*?)```")

// Every configuration example in docs/ (a json or yaml block; event
// payloads live in events.md and are not configurations) loads: it parses,
// every key is known, and New accepts it — except for files it names that
// do not exist here (TLS certificates).
func TestDocsConfigExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "events.md" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fenceRE.FindAllStringSubmatch(string(b), -1) {
			n++
			name := filepath.Base(f) + "#" + string(rune('1'+i))
			fc, err := parseConfig([]byte(m[2]))
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, m[2])
				continue
			}
			cfg := dicomrecv.Config{Port: defaultPort, OutDir: t.TempDir()}
			var cli cliSettings
			if err := fc.apply(&cfg, &cli); err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if _, err := newBeforeStore(cli.modifyTags, cli.beforeStoreWebhook, cfg.ExtractCustomTags); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if cfg.OutDir != "" && !filepath.IsAbs(cfg.OutDir) {
				cfg.OutDir = filepath.Join(t.TempDir(), cfg.OutDir)
			}
			_, err = dicomrecv.New(cfg)
			var ce *dicomrecv.ConfigError
			if err != nil && !(errors.As(err, &ce) && ce.Field == "TLS" && strings.Contains(err.Error(), "no such file")) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d examples found", n)
	}
}
