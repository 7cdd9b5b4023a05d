//go:build fleet

package fleettest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fleet starts three sandbox hosts, web1..web3.
func fleet(t *testing.T) []host {
	t.Helper()
	var hs []host
	for _, name := range []string{"web1", "web2", "web3"} {
		hs = append(hs, host{sandbox: startSandbox(t, name, env.nginx)})
	}
	return hs
}

func withCandidate(hs []host, paths ...string) []host {
	out := make([]host, len(hs))
	for i, h := range hs {
		out[i] = h
		out[i].candidate = paths[i]
	}
	return out
}

// TestFleetRollout: (a) a good candidate is committed on every host with no failed request,
// (d) a rerun is a no-op, (e) check mode with another candidate changes nothing.
func TestFleetRollout(t *testing.T) {
	dir := t.TempDir()
	version := nginxVersion(t, env.nginx)
	candA := markedCopy(t, env.nginx, filepath.Join(dir, "nginx-a"), "a")
	shaA := mustSHA(t, candA)
	hs := withCandidate(fleet(t), candA, candA, candA)

	t.Run("committed", func(t *testing.T) {
		was := snapshot(t, hs)
		r := playbook(t, "rollout", hs, false)
		if r.code != 0 {
			t.Errorf("ansible-playbook exited %d, want 0\n%s", r.code, r)
		}
		checkListed(t, r, hs)
		for _, h := range hs {
			checkCommitted(t, h, r.row(t, h.name), was[h.name], shaA, version)
			if r.changed[h.name] == 0 {
				t.Errorf("%s: changed=0 in the recap, want the upgrade reported as a change", h.name)
			}
		}
	})

	t.Run("rerun-unchanged", func(t *testing.T) {
		was := snapshot(t, hs)
		r := playbook(t, "rerun", hs, false)
		if r.code != 0 {
			t.Errorf("ansible-playbook exited %d, want 0\n%s", r.code, r)
		}
		for _, h := range hs {
			row := r.row(t, h.name)
			res := row.Report
			if res == nil {
				t.Errorf("%s: not reached", h.name)
				continue
			}
			contract(t, "unchanged", res.Result == "unchanged" && intIs(res.RC, 0),
				"%s: result %q exit %v, want unchanged, exit 0 (the master already runs the candidate's bytes)", h.name, res.Result, deref(res.RC))
			contract(t, "unchanged", r.changed[h.name] == 0, "%s: changed=%d in the recap, want 0", h.name, r.changed[h.name])
			checkServingOld(t, h, was[h.name])
		}
	})

	t.Run("check-mode", func(t *testing.T) {
		candB := markedCopy(t, env.nginx, filepath.Join(dir, "nginx-b"), "b")
		hsB := withCandidate(hs, candB, candB, candB)
		was := snapshot(t, hsB)
		r := playbook(t, "check", hsB, true)
		contract(t, "--dry-run", r.code == 0, "ansible-playbook --check exited %d, want 0\n%s", r.code, r)
		checkListed(t, r, hsB)
		for _, h := range hsB {
			row := r.row(t, h.name)
			if res := row.Report; res == nil {
				contract(t, "--dry-run", false, "%s: not reached, want checked", h.name)
			} else {
				contract(t, "--dry-run", res.Result == "checked" && intIs(res.RC, 0),
					"%s: result %q exit %v (%s), want checked, exit 0", h.name, res.Result, deref(res.RC), res.Error)
			}
			if r.changed[h.name] != 0 {
				t.Errorf("%s: changed=%d in the recap of check mode, want 0", h.name, r.changed[h.name])
			}
			checkServingOld(t, h, was[h.name])
			if _, err := os.Stat(filepath.Join(h.dir, "stage", "nginx-b")); err == nil {
				t.Errorf("%s: check mode left the candidate in the stage directory", h.name)
			}
			if left, _ := filepath.Glob(filepath.Join(h.dir, "hotdeploy-check.*")); len(left) > 0 {
				t.Errorf("%s: check mode left %v", h.name, left)
			}
		}
	})
}

// TestFleetStopsOnDeadCandidate: (b) a candidate that passes -v and -t but exits as the new
// master on web2 stops the rollout there: web2 rolled back to its old build, web3 untouched;
// then a rerun with a good candidate upgrades only the hosts left.
func TestFleetStopsOnDeadCandidate(t *testing.T) {
	dir := t.TempDir()
	version := nginxVersion(t, env.nginx)
	candA := markedCopy(t, env.nginx, filepath.Join(dir, "nginx-a"), "a")
	shaA := mustSHA(t, candA)
	dies := fakeNginx(t, env.nginx, dir, "die")
	hs := withCandidate(fleet(t), candA, dies, candA)
	web1, web2, web3 := hs[0], hs[1], hs[2]
	was := snapshot(t, hs)

	r := playbook(t, "stopped", hs, false)
	if r.code != 2 {
		t.Errorf("ansible-playbook exited %d, want 2 (a host failed)\n%s", r.code, r)
	}
	checkListed(t, r, hs)
	checkCommitted(t, web1, r.row(t, "web1"), was["web1"], shaA, version)

	row := r.row(t, "web2")
	if res := row.Report; res == nil {
		t.Errorf("web2: not reached, want rolled-back")
	} else {
		if res.Result != "rolled-back" || !intIs(res.RC, 1) {
			t.Errorf("web2: result %q exit %v (%s), want rolled-back, exit 1", res.Result, deref(res.RC), res.Error)
		}
		contract(t, "exit_code", intIs(res.ExitCode, 1), "web2: exit_code %v, want 1", deref(res.ExitCode))
		checkBuilds(t, web2, res, was["web2"].sha, mustSHA(t, dies), version)
		web2.record(res.NewPID)
	}
	checkServingOld(t, web2, was["web2"])
	if !strings.Contains(r.output, "result: rolled-back (exit 1)") {
		t.Errorf("the output does not show web2's events and result:\n%s", r)
	}
	checkUntouched(t, web3, r.row(t, "web3"), was["web3"])

	t.Run("rerun-finishes", func(t *testing.T) {
		was := snapshot(t, hs)
		fixed := withCandidate(hs, candA, candA, candA)
		r := playbook(t, "resume", fixed, false)
		if r.code != 0 {
			t.Errorf("ansible-playbook exited %d, want 0\n%s", r.code, r)
		}
		if res := r.row(t, "web1").Report; res != nil {
			contract(t, "unchanged", res.Result == "unchanged", "web1: result %q, want unchanged", res.Result)
		}
		checkCommitted(t, fixed[1], r.row(t, "web2"), was["web2"], shaA, version)
		checkCommitted(t, fixed[2], r.row(t, "web3"), was["web3"], shaA, version)
	})
}

// TestFleetStopsOnRefusedCandidate: (c) a candidate whose config test fails is refused at
// preflight on web1, which stops the rollout before web2: nothing changes anywhere.
func TestFleetStopsOnRefusedCandidate(t *testing.T) {
	bad := fakeNginx(t, env.nginx, t.TempDir(), "badconf")
	hs := withCandidate(fleet(t), bad, bad, bad)
	was := snapshot(t, hs)

	r := playbook(t, "refused", hs, false)
	if r.code != 2 {
		t.Errorf("ansible-playbook exited %d, want 2 (a host failed)\n%s", r.code, r)
	}
	checkListed(t, r, hs)
	row := r.row(t, "web1")
	if res := row.Report; res == nil {
		t.Errorf("web1: not reached, want refused")
	} else {
		if res.Result != "refused" || !intIs(res.RC, 2) {
			t.Errorf("web1: result %q exit %v (%s), want refused, exit 2", res.Result, deref(res.RC), res.Error)
		}
		contract(t, "exit_code", intIs(res.ExitCode, 2), "web1: exit_code %v, want 2", deref(res.ExitCode))
	}
	checkServingOld(t, hs[0], was["web1"])
	checkUntouched(t, hs[1], r.row(t, "web2"), was["web2"])
	checkUntouched(t, hs[2], r.row(t, "web3"), was["web3"])
}
