package traffic

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKeepaliveRaceNote(t *testing.T) {
	for _, c := range []struct {
		version, says string
	}{
		{"nginx/1.22.1", "nginx/1.22.1 lacks keepalive_min_timeout"},
		{"nginx version: nginx/1.22.1", "nginx/1.22.1 lacks keepalive_min_timeout"},
		{"nginx/1.27.3", "lacks keepalive_min_timeout"},
		{"1.26.2", "1.26.2 lacks keepalive_min_timeout"},
		{"openresty/1.21.4.1", "lacks keepalive_min_timeout"},
		{"nginx/1.27.4", "nginx/1.27.4 has keepalive_min_timeout: unless it is set"},
		{"nginx/1.28.0 (Ubuntu)", "nginx/1.28.0 has keepalive_min_timeout"},
		{"nginx/2.0", "has keepalive_min_timeout"},
		{"", "nginx version unknown: whether it has keepalive_min_timeout"},
		{"angie/1.5.0", "angie/1.5.0: whether it has keepalive_min_timeout"},
		{"nginx/abc", "whether it has keepalive_min_timeout"},
	} {
		got := KeepaliveRaceNote(c.version)
		if !strings.Contains(got, c.says) || !strings.Contains(got, "trac #1022") {
			t.Errorf("KeepaliveRaceNote(%q) = %q; want it to say %q and cite the trac ticket", c.version, got, c.says)
		}
	}
}

// The report is the result's probe object: mode, and usr2, winch and quit always present with
// the counts DESIGN.md names; a note only for keep-alive resets.
func TestNewProbeReportShape(t *testing.T) {
	ty := newTally(t0)
	ty.record(ok(0, ""))
	ty.record(ok(1, "usr2"))
	r := fail(2, "winch", FailReset, 0)
	r.retried, r.retryOK = true, true
	ty.record(r)
	var s ProbeStats
	ty.fill(&s, at(3))
	s.Mode, s.Connections = ModeKeepAlive, 5

	rep := NewProbeReport(s, "nginx/1.22.1")
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["mode"] != "keepalive" || m["sent"] != 3.0 || m["ok"] != 2.0 || m["failed"] != 1.0 || m["retried_ok"] != 1.0 || m["connections"] != 5.0 {
		t.Errorf("report %s", b)
	}
	phases, _ := m["phases"].(map[string]any)
	for _, name := range []string{"usr2", "winch", "quit", "before"} {
		p, ok := phases[name].(map[string]any)
		if !ok {
			t.Errorf("phase %s missing: %s", name, b)
			continue
		}
		for _, k := range []string{"ok", "refused", "reset", "timeout", "http_5xx", "retried_ok"} {
			if _, ok := p[k]; !ok {
				t.Errorf("phase %s has no %q: %s", name, k, b)
			}
		}
	}
	if w := phases["winch"].(map[string]any); w["reset"] != 1.0 || w["retried_ok"] != 1.0 {
		t.Errorf("winch %v", w)
	}
	if !strings.Contains(rep.Note, "keepalive_min_timeout") {
		t.Errorf("note %q", rep.Note)
	}
	s.Mode = ModeFresh
	if rep := NewProbeReport(s, "nginx/1.22.1"); rep.Note != "" || rep.Mode != "fresh" {
		t.Errorf("fresh mode: %+v", rep)
	}
}
