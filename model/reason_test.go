package model

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// Every sentence model builds for the operator also comes as a code and its arguments, which
// say the same in English: a screen in another language renders the code, the command line the
// English string.
func TestReasonsCarryTheirCodes(t *testing.T) {
	for _, in := range reasonInstances() {
		for _, ctx := range []Context{{}, {ReadOnly: true}, {Busy: "drain old workers"}, {QuitSent: 1}} {
			for _, v := range CheckAll(in, ctx) {
				if v.Reason != v.Why.String() || v.Warning != v.WarningWhy.String() {
					t.Errorf("%s in %s: reason %q / code %q, warning %q / code %q",
						v.Action, in.Phase, v.Reason, v.Why.String(), v.Warning, v.WarningWhy.String())
				}
				if !v.Allowed && v.Why.Code == "" {
					t.Errorf("%s in %s refused without a code: %q", v.Action, in.Phase, v.Reason)
				}
			}
			for _, a := range Actions {
				p := Describe(in, a, "/tmp/nginx")
				if p.Effect != p.EffectWhy.String() || p.Irreversible != p.IrreversibleWhy.String() {
					t.Errorf("%s in %s: plan %q / %q", a, in.Phase, p.Effect, p.EffectWhy.String())
				}
			}
		}
	}
	if (Reason{}).String() != "" {
		t.Error("an empty reason is not empty")
	}
}

// reasonInstances are an instance in each phase, and one not permitted.
func reasonInstances() []Instance {
	worker := func(pid, ppid int, down bool) Process {
		return Process{PID: pid, PPID: ppid, Role: RoleWorker, ShuttingDown: down}
	}
	old := Master{Process: Process{PID: 1, Role: RoleMaster}, Children: []Process{worker(2, 1, false)}}
	nw := Master{Process: Process{PID: 10, Role: RoleMaster}, Children: []Process{worker(11, 10, false)}}
	draining := old
	draining.Children = []Process{worker(2, 1, true)}
	drained := old
	drained.Children = nil
	ins := []Instance{
		{Binary: "/usr/sbin/nginx", Masters: []Master{old}, PidFilePID: 1},
		{Binary: "/usr/sbin/nginx", BinaryDiffers: true, BinarySameBytes: true, Masters: []Master{old}, PidFilePID: 1},
		{Binary: "/usr/sbin/nginx", Masters: []Master{old, nw}, PidFilePID: 1, OldbinPID: 1},
		{Binary: "/usr/sbin/nginx", Masters: []Master{old, nw}, PidFilePID: 10, OldbinPID: 1},
		{Binary: "/usr/sbin/nginx", Masters: []Master{draining, nw}, PidFilePID: 10, OldbinPID: 1},
		{Binary: "/usr/sbin/nginx", Masters: []Master{drained, nw}, PidFilePID: 10, OldbinPID: 1},
		{Binary: "/usr/sbin/nginx", Masters: []Master{old}, Hidden: []string{"/proc/1/exe"}},
	}
	for i := range ins {
		ins[i].Phase = DerivePhase(ins[i])
	}
	return ins
}

// A code that wraps an error with %w reads as fmt.Errorf's sentence, and the error built from it
// unwraps to that error as fmt.Errorf's would: wrapping a sentence for the screen's language
// changes neither the English text nor what errors.Is finds.
func TestReasonWrapsErrors(t *testing.T) {
	cause := &fs.PathError{Op: "stat", Path: "/x/nginx", Err: fs.ErrNotExist}
	r := Because("candidate %s: %w", "/x/nginx", cause)
	want := fmt.Errorf("candidate %s: %w", "/x/nginx", cause).Error()
	if r.String() != want {
		t.Errorf("String() = %q, want %q", r.String(), want)
	}
	err := r.Err()
	if err.Error() != want || !errors.Is(err, fs.ErrNotExist) || ReasonOf(err).Code != r.Code {
		t.Errorf("Err() = %q (is ErrNotExist %v, reason %q)", err, errors.Is(err, fs.ErrNotExist), ReasonOf(err).Code)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe != cause {
		t.Errorf("errors.As does not find the wrapped %T", cause)
	}
	if plain := Because("candidate %s is not executable: %v", "/x", cause).Err().(*ReasonError); plain.Unwrap() != nil {
		t.Errorf("a reason without %%w wraps %v", plain.Unwrap())
	}
	list := Reasons{Because("%s %d for %s", RoleWorker, 1001, "2.3s"), Because("%s %d for %s", RoleWorker, 1002, "1s")}
	if got := Because("draining: %s", list).String(); got != "draining: worker 1001 for 2.3s, worker 1002 for 1s" {
		t.Errorf("a list of reasons reads %q", got)
	}
}

// explained is an error type of its own that keeps its sentence as a reason (as a refused
// signal does), with a message that may have drifted from it.
type explained struct {
	msg string
	why Reason
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Why() Reason   { return e.why }

// ReasonOf finds the reason of an Explainer, wrapped or not, as long as the whole message is it.
func TestReasonOfExplainer(t *testing.T) {
	why := Because("refused to signal %s: that pid is now %s; refresh and look again", "nginx master pid 7", "sh")
	own := &explained{msg: why.String(), why: why}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bare", own, why.Code},
		{"wrapped without words", fmt.Errorf("%w", own), why.Code},
		{"wrapped with words", fmt.Errorf("commit: %w", own), ""},
		{"message drifted", &explained{msg: "something else", why: why}, ""},
		{"inside a reason", Because("%s: %w", "x", own).Err(), "%s: %w"},
		{"nil", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReasonOf(tc.err).Code; got != tc.want {
				t.Errorf("ReasonOf(%v).Code = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
