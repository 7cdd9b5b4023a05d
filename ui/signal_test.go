package ui

import (
	"fmt"
	"syscall"

	"github.com/hotdeploy/hotdeploy/model"
)

// signalMaster sends a signal to a sandbox master the test started itself, after checking the
// pid still names that master.
func signalMaster(m model.Master, name string) error {
	sigs := map[string]syscall.Signal{"USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH}
	sig, ok := sigs[name]
	if !ok {
		return fmt.Errorf("unknown signal %s", name)
	}
	return syscall.Kill(m.PID, sig)
}
