package model

import "testing"

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
