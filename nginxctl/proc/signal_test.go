package proc

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

// A signal to a live process that is not the one seen (a wrong start time) is refused with an
// IdentityError: its English is the sentence it always was, and it carries its reason, so the
// dashboard finds it with model.ReasonOf and says it in its own language. Nothing is sent.
func TestIdentityRefusalCarriesItsReason(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := NewReader()
	st, err := r.Stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	title, err := r.Title(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	role, _ := model.ParseTitle(title)
	ref := model.Ref{PID: cmd.Process.Pid, StartTicks: st.StartTicks + 1, Comm: st.Comm, Role: role}

	err = Signal(ref, syscall.SIGTERM)
	var ie *IdentityError
	if !errors.As(err, &ie) {
		t.Fatalf("Signal with a wrong start time = %v, want an IdentityError", err)
	}
	got := fmt.Sprintf("%s %q started at tick %d", st.Comm, title, st.StartTicks)
	want := fmt.Sprintf("refused to signal %s: that pid is now %s; refresh and look again", ref, got)
	if err.Error() != want || ie.Got != got {
		t.Errorf("refusal %q (got %q)\nwant %q", err, ie.Got, want)
	}
	why := model.ReasonOf(err)
	if why.Code != "refused to signal %s: that pid is now %s; refresh and look again" || why.String() != want {
		t.Errorf("ReasonOf = %q / %q, want the refusal's code saying %q", why.Code, why.String(), want)
	}
	if wrapped := model.ReasonOf(fmt.Errorf("%w", err)); wrapped.Code != why.Code {
		t.Errorf("ReasonOf(wrapped) = %q, want %q", wrapped.Code, why.Code)
	}
	if err := syscall.Kill(cmd.Process.Pid, 0); err != nil {
		t.Fatalf("the process is gone after a refused signal: %v", err)
	}
	// An IdentityError built with plain text only still says it, untranslated.
	plain := &IdentityError{Want: ref, Got: "something"}
	if plain.Error() != fmt.Sprintf("refused to signal %s: that pid is now something; refresh and look again", ref) {
		t.Errorf("plain refusal %q", plain.Error())
	}
}
