package battery

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// defaultParallel is the -test.parallel used when none is given: the cases
// spend their time waiting on timers, not computing, and running them two
// at a time (GOMAXPROCS on a small machine) would take minutes.
const defaultParallel = "16"

func TestMain(m *testing.M) {
	if os.Getenv(idleHelperEnv) != "" {
		// The test binary re-executed as the idle-connection helper of
		// TestIdleConnections.
		os.Exit(runIdleHelper())
	}
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", defaultParallel); err != nil {
			panic(err)
		}
	}
	// Every case shuts its server down; after all of them no goroutine of
	// any server, association or helper may be left.
	goleak.VerifyTestMain(m)
}
