package proc

import (
	"errors"
	"os"
	"syscall"

	"github.com/hotdeploy/hotdeploy/model"
)

// IdentityError refuses a signal because the pid no longer names the process that was seen.
type IdentityError struct {
	Want model.Ref
	Got  string
	// GotWhy is Got as a code and its arguments, for the dashboard's language (zero when Got
	// came as plain text).
	GotWhy model.Reason `json:"-"`
}

func (e *IdentityError) Error() string { return e.Why().String() }

// Why is the refusal as a reason, so model.ReasonOf finds it and the dashboard says it in its
// language; its English is Error's.
func (e *IdentityError) Why() model.Reason {
	return model.Because("refused to signal %s: that pid is now %s; refresh and look again", e.Want, e.GotWhy.Or(e.Got))
}

// ErrGone reports that the target exited before the signal reached it.
var ErrGone = model.Because("process is gone").Err()

// Signal sends sig to the process ref names, and only to it. The pidfd is opened first
// (os.FindProcess does so on Linux >= 5.4), then the identity is checked: if the pid was
// recycled before the check, the check sees the stranger and refuses; if after, the pidfd still
// names the exited original and the kernel refuses. Never a process group.
func Signal(ref model.Ref, sig syscall.Signal) error {
	if ref.PID <= 1 {
		return model.Because("refused to signal pid %d", ref.PID).Err()
	}
	p, err := os.FindProcess(ref.PID)
	if err != nil {
		return model.Because("%s: %w", ref, err).Err()
	}
	defer p.Release()
	if err := Verify(ref); err != nil {
		return err
	}
	if err := p.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return model.Because("%s: %w", ref, ErrGone).Err()
		}
		return model.Because("send %s to %s: %w", SignalName(sig), ref, err).Err()
	}
	return nil
}

// verify re-reads pid, start time, comm and role of ref's process.
func Verify(ref model.Ref) error {
	r := NewReader()
	st, err := r.Stat(ref.PID)
	if err != nil || st.State == 'Z' {
		// A zombie has exited; only its parent's wait is pending.
		return model.Because("%s: %w", ref, ErrGone).Err()
	}
	title, err := r.Title(ref.PID)
	if err != nil {
		return model.Because("%s: %w", ref, ErrGone).Err()
	}
	role, _ := model.ParseTitle(title)
	if st.StartTicks != ref.StartTicks || st.Comm != ref.Comm || role != ref.Role {
		got := model.Because("%s %q started at tick %d", st.Comm, title, st.StartTicks)
		return &IdentityError{Want: ref, Got: got.String(), GotWhy: got}
	}
	return nil
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGUSR2: "SIGUSR2", syscall.SIGWINCH: "SIGWINCH", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGHUP: "SIGHUP", syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL",
}

func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return sig.String()
}
