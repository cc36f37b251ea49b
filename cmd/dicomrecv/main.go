// Command dicomrecv is a DICOM C-STORE SCP: it receives images from
// modalities, PACS and routers and stores them under
// {outDir}/{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm.
//
// Usage:
//
//	dicomrecv [--config FILE] [--port N] [--aet TITLE] [--out-dir DIR] [--verbose]
//	dicomrecv version
//	dicomrecv tags [FILTER] [--json]      the data dictionary: keyword, tag, VR, VM
//	dicomrecv sop-classes [--json]        Storage SOP Classes and the named sets
//	dicomrecv transfer-syntaxes [--json]  transfer syntaxes and the named sets
//
// The configuration file (JSON or YAML) takes the option object of
// node-dicom's StoreScp with the same keys, plus dicomrecv's own keys; see
// docs/configuration.md. Events are written to stdout as JSON Lines, logs to
// stderr. SIGINT or SIGTERM shuts down gracefully; a second signal exits at
// once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/eventlines"
	"github.com/dicomrecv/dicomrecv/internal/hooks"
	"github.com/dicomrecv/dicomrecv/internal/metrics"
)

// Defaults of the command (the library's differ: port 0, no outDir).
const (
	defaultPort            = 11112
	defaultOutDir          = "./dicom-storage"
	defaultShutdownTimeout = 30 * time.Second
)

type cliSettings struct {
	shutdownTimeout    time.Duration
	beforeStoreWebhook string
	modifyTags         map[string]*string

	eventWebhook                   string
	onFileStored, onStudyCompleted []string
	commandConcurrency             int
	commandTimeout                 time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is main without the process: it returns the exit code. ready, when
// not nil, receives the server once it listens (for tests).
func run(args []string, stdout, stderr io.Writer, ready chan<- *dicomrecv.Server) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	if len(args) > 0 {
		if cmd, ok := lookupCommands[args[0]]; ok {
			return cmd(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("dicomrecv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (JSON or YAML, the seed's StoreScp option names)")
	port := fs.Int("port", -1, "TCP port to listen on (default 11112)")
	aet := fs.String("aet", "", "our AE title (the seed's callingAeTitle; default STORE-SCP)")
	outDir := fs.String("out-dir", "", "storage directory (default ./dicom-storage)")
	verbose := fs.Bool("verbose", false, "log every association, context and stored file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dicomrecv [flags]\n       dicomrecv version\n       dicomrecv tags [FILTER] [--json]\n"+
			"       dicomrecv sop-classes [--json]\n       dicomrecv transfer-syntaxes [--json]\n\nFlags override the configuration file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dicomrecv: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	cfg := dicomrecv.Config{Port: defaultPort, OutDir: defaultOutDir}
	cli := cliSettings{shutdownTimeout: defaultShutdownTimeout}
	if *configPath != "" {
		fc, err := loadConfigFile(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "dicomrecv: %s: %v\n", *configPath, err)
			return 2
		}
		if err := fc.apply(&cfg, &cli); err != nil {
			fmt.Fprintf(stderr, "dicomrecv: %s: %v\n", *configPath, err)
			return 2
		}
	}
	if *port >= 0 {
		cfg.Port = *port
	}
	if *aet != "" {
		cfg.AETitle = *aet
	}
	if *outDir != "" {
		cfg.OutDir = *outDir
	}
	if *verbose {
		cfg.Verbose = true
	}
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	srv, err := dicomrecv.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dicomrecv: %v\n", fileKeyError(err))
		return 2
	}
	bs, err := newBeforeStore(cli.modifyTags, cli.beforeStoreWebhook, cfg.ExtractCustomTags)
	if err != nil {
		fmt.Fprintf(stderr, "dicomrecv: %v\n", err)
		return 2
	}
	if bs != nil {
		srv.OnBeforeStore(bs.run)
	}
	sinks, err := newSinks(&cli, srv.Metrics(), cfg.Logger)
	if err != nil {
		fmt.Fprintf(stderr, "dicomrecv: %v\n", err)
		return 2
	}
	eventlines.New(stdout, sinks).Register(srv)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "dicomrecv: %v\n", err)
		return 1
	}
	if ready != nil {
		ready <- srv
	}
	sig := <-sigs
	cfg.Logger.Info("shutting down", "signal", sig.String(), "timeout", cli.shutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), cli.shutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := srv.Shutdown(ctx)
		// Every event of the run is queued by now: deliver what can be
		// delivered before the deadline.
		for _, s := range sinks {
			s.Close(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "dicomrecv: shutdown: %v\n", err)
			return 1
		}
		return 0
	case sig := <-sigs:
		cfg.Logger.Warn("second signal: exiting at once", "signal", sig.String())
		return 1
	}
}

// newSinks builds the event hooks of the configuration.
func newSinks(cli *cliSettings, m *metrics.Metrics, log *slog.Logger) ([]hooks.Sink, error) {
	var sinks []hooks.Sink
	if cli.eventWebhook != "" {
		wh, err := hooks.NewWebhook(hooks.WebhookConfig{
			URL:         cli.eventWebhook,
			Logger:      log,
			OnDelivered: func(ev string) { m.HookDelivered(metrics.HookWebhook, ev) },
			OnDrop:      func(ev, reason string) { m.HookDropped(metrics.HookWebhook, ev, reason) },
		})
		if err != nil {
			return nil, fmt.Errorf("config: eventWebhook: %v", err)
		}
		sinks = append(sinks, wh)
	}
	if len(cli.onFileStored) > 0 || len(cli.onStudyCompleted) > 0 {
		r, err := hooks.NewRunner(hooks.RunnerConfig{
			OnFileStored:     cli.onFileStored,
			OnStudyCompleted: cli.onStudyCompleted,
			Concurrency:      cli.commandConcurrency,
			Timeout:          cli.commandTimeout,
			Logger:           log,
			OnDelivered:      func(ev string) { m.HookDelivered(metrics.HookCommand, ev) },
			OnDrop:           func(ev, reason string) { m.HookDropped(metrics.HookCommand, ev, reason) },
		})
		if err != nil {
			for _, s := range sinks {
				s.Close(context.Background())
			}
			return nil, fmt.Errorf("config: %v", err)
		}
		sinks = append(sinks, r)
	}
	return sinks, nil
}

// fileKeys maps Config field names to configuration file keys, so that
// errors name what the user wrote.
var fileKeys = map[string]string{
	"Port": "port", "AETitle": "callingAeTitle", "OutDir": "outDir", "StorageBackend": "storageBackend",
	"DatasetOnly": "storeWithFileMeta", "Strict": "strict", "MaxPDULength": "maxPduLength",
	"AbstractSyntaxMode": "abstractSyntaxMode", "AbstractSyntaxes": "abstractSyntaxes",
	"TransferSyntaxMode": "transferSyntaxMode", "TransferSyntaxes": "transferSyntaxes",
	"Host": "host", "Fsync": "fsync", "DuplicatePolicy": "duplicatePolicy",
	"ARTIMTimeout": "artimTimeout", "IdleTimeout": "idleTimeout", "PDUReadTimeout": "pduReadTimeout",
	"DIMSETimeout": "dimseTimeout", "MaxAssociationLifetime": "maxAssociationLifetime",
	"MaxAssociations": "maxAssociations", "ExtractTags": "extractTags", "ExtractCustomTags": "extractCustomTags",
	"StudyTimeout": "studyTimeout", "MaxAssociationsPerPeer": "maxAssociationsPerPeer", "MaxObjectSize": "maxObjectSize",
	"MinFreeDisk": "minFreeDisk", "RequireCalledAETitle": "requireCalledAeTitle",
	"AllowedCallingAETitles": "allowedCallingAeTitles", "Peers": "peers", "S3": "s3Config",
	"TLS": "tls", "BeforeStoreTimeout": "beforeStoreTimeout", "CoercionStatus": "coercionStatus",
	"MetricsAddr": "metricsAddr", "PprofAddr": "pprofAddr", "MaxPresentationContexts": "maxPresentationContexts",
	"MaxAssociateRequestSize": "maxAssociateRequestSize", "MaxSequenceDepth": "maxSequenceDepth",
}

func fileKeyError(err error) error {
	var ce *dicomrecv.ConfigError
	if errors.As(err, &ce) {
		if k, ok := fileKeys[ce.Field]; ok {
			return fmt.Errorf("config: %s: %s", k, ce.Msg)
		}
	}
	return err
}

// commit is set by scripts/build-static.sh (-X main.commit=...); otherwise
// the commit comes from the build information Go embeds.
var commit string

func versionString() string {
	version, rev := "(devel)", commit
	if rev == "" {
		rev = "unknown"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					rev = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" && commit == "" {
					rev += "-dirty"
				}
			}
		}
	}
	return fmt.Sprintf("dicomrecv %s (commit %s, %s)", version, rev, dicomrecv.ImplementationVersionName)
}
