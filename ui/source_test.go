package ui

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// conns sums the connection counts of in's workers.
func conns(in model.Instance) int {
	n := 0
	for _, m := range in.Masters {
		for _, c := range m.Children {
			if c.Role == model.RoleWorker && c.Conns > 0 {
				n += c.Conns
			}
		}
	}
	return n
}

// A scan carries the last connection counts while none of the instance's processes ran (the
// socket table is not dumped), and counts again once one ran: a connection opened after an idle
// spell is on screen, and so is its close. With the counter keeping counts for a while (its CPU
// share), kept counts are never carried: they may predate the connection.
func TestScanCountsConnectionsOpenedAfterAStillSpell(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	upgradetest.Settled(t, sb, 2)
	sc := inspect.NewScanner()
	sc.Follow()
	t.Cleanup(sc.Close)
	src := newLiveSource(sc, inspect.Target{PidFile: sb.PidFile})

	// scanUntil scans until the counts sum to want, the way the dashboard does every few
	// seconds, with quiet refreshes between (RefreshStill when nothing ran).
	scanUntil := func(want int, step string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			snap, err := src.Scan()
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Instances) != 1 {
				t.Fatalf("%s: %d instances", step, len(snap.Instances))
			}
			in := snap.Instances[0]
			if conns(in) == want {
				return
			}
			for i := 0; i < 4; i++ {
				time.Sleep(50 * time.Millisecond)
				refresh := src.Refresh
				if src.Still(in) {
					refresh = src.RefreshStill
				}
				if in, err = refresh(in); err != nil {
					t.Fatal(err)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: scans count %d connections for 10 s, %d are open", step, conns(in), want)
			}
		}
	}
	scanUntil(0, "idle")

	// A request left unfinished: the worker accepts it and waits for the rest.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(sb.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	scanUntil(1, "one connection held")
	c.Close()
	scanUntil(0, "the connection closed")
}

// While an upgrade of a systemd unit runs, the screen warns against `systemctl reload`, saying
// what this unit's reload would signal; not before the upgrade, nor without a unit.
func TestReloadWarningComesAndGoesWithTheUpgrade(t *testing.T) {
	unit := &model.SystemdUnit{Unit: "nginx.service", ExecReload: "/usr/sbin/nginx -g daemon on; master_process on; -s reload"}
	for _, tc := range []struct {
		name  string
		in    model.Instance
		unit  *model.SystemdUnit
		wants string
	}{
		{"idle under systemd", idleInstance(), unit, ""},
		{"upgrading under systemd", manyWorkers(2), unit, "`systemctl reload nginx.service`"},
		{"upgrading without a unit", manyWorkers(2), nil, ""},
	} {
		in := tc.in
		in.Phase = model.DerivePhase(in)
		in.Systemd = tc.unit
		warnReload(&in)
		switch {
		case tc.wants == "" && len(in.Warnings) > 0:
			t.Errorf("%s: warned %q", tc.name, in.Warnings)
		case tc.wants != "" && (len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], tc.wants) ||
			!strings.Contains(in.Warnings[0], "HUPs the new master")):
			t.Errorf("%s: warnings %q, want one naming %s and what its reload signals", tc.name, in.Warnings, tc.wants)
		}
	}
}
