// Command profserve runs a dicomrecv server in-process, as cmd/dicomrecv
// does (events as JSON Lines on stdout, logs on stderr), and writes a CPU
// profile and an allocation profile when it is stopped with SIGTERM or
// SIGINT. The benchmark harness uses it for go run ./bench -profile.
//
// Usage:
//
//	profserve [-cpuprofile FILE] [-memprofile FILE] [-pprof ADDR] --config FILE
//
// The configuration file is the JSON the harness writes for dicomrecv,
// with the keys port, outDir, fsync, maxPduLength and callingAeTitle.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/eventlines"
)

// fileConfig is the subset of cmd/dicomrecv's configuration keys the
// harness uses.
type fileConfig struct {
	Port           int    `json:"port"`
	OutDir         string `json:"outDir"`
	Fsync          bool   `json:"fsync"`
	MaxPDULength   int    `json:"maxPduLength"`
	CallingAETitle string `json:"callingAeTitle"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "profserve: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("profserve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "configuration file (JSON)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile to this file")
	pprofAddr := fs.String("pprof", "", "also serve net/http/pprof on this address (Config.PprofAddr, e.g. 127.0.0.1:6060)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*config)
	if err != nil {
		return err
	}
	var fc fileConfig
	if err := json.Unmarshal(b, &fc); err != nil {
		return fmt.Errorf("%s: %w", *config, err)
	}
	fsync := fc.Fsync
	cfg := dicomrecv.Config{Port: fc.Port, OutDir: fc.OutDir, Fsync: &fsync, MaxPDULength: fc.MaxPDULength,
		AETitle: fc.CallingAETitle, Logger: slog.New(slog.NewTextHandler(stderr, nil)), PprofAddr: *pprofAddr}
	srv, err := dicomrecv.New(cfg)
	if err != nil {
		return err
	}
	eventlines.New(stdout, nil).Register(srv)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if err := srv.Start(); err != nil {
		return err
	}
	<-sigs
	// Profile the receiving only, not the shutdown.
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}
