//go:build !unix

package hooks

import "os/exec"

// setProcessGroup leaves cmd as it is: cancellation kills the process
// (exec's default), not its children.
func setProcessGroup(cmd *exec.Cmd) {}
