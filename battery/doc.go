// Package battery holds the hostile-input battery of dicomrecv: tests that
// speak raw TCP to a running Server and check that every malformed,
// truncated, oversized, slow or out-of-sequence input is answered as PS3.8
// and PS3.7 require (A-ASSOCIATE-RJ, A-ABORT, a DIMSE failure status, or a
// plain close), within the configured timeouts, that nothing is stored, that
// no goroutine leaks, and that the same server then still stores an object
// sent by DCMTK's storescu.
//
// The package has no code of its own; everything is in its _test.go files.
// Run it with
//
//	go test -race ./battery/
//
// The cases run in parallel (each with its own server): they spend their
// time waiting on timers, so TestMain raises -test.parallel unless it was
// given. TestIdleConnections opens 10,000 idle connections from a helper
// process (so that its memory is not counted as the server's and the two
// processes share the file descriptor limit) and reports the server's heap
// growth per connection.
package battery
