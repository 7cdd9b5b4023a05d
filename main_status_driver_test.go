package main

import (
	"encoding/json"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestStatusNamesBackupsAndDriver: after an upgrade stopped at drain, status --json lists the
// kept build (<binary>.old with its sha256); no driver holds the instance once the command
// ended (driver null, never missing), and the arrays are arrays.
func TestStatusNamesBackupsAndDriver(t *testing.T) {
	c := newCLITarget(t)
	if code, out, errOut := c.hd("upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--stop-after", "drain"); code != 0 {
		t.Fatalf("upgrade --stop-after drain: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "status", "--json", "--pidfile", c.sb.PidFile)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var doc struct {
		Instances []map[string]json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Instances) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	in := doc.Instances[0]
	var backups []struct{ Path, SHA256 string }
	if err := json.Unmarshal(in["backups"], &backups); err != nil || len(backups) != 1 ||
		backups[0].Path != c.sb.Binary+".old" || backups[0].SHA256 != c.origSHA {
		t.Errorf("backups %s (%v), want %s.old with sha256 %.12s", in["backups"], err, c.sb.Binary, c.origSHA)
	}
	for _, k := range []string{"driver", "systemd"} {
		if string(in[k]) != "null" {
			t.Errorf("%s = %s, want null", k, in[k])
		}
	}
	for _, k := range []string{"orphans", "warnings"} {
		if len(in[k]) == 0 || in[k][0] != '[' {
			t.Errorf("%s = %s, want an array", k, in[k])
		}
	}
	if code, _, errOut := c.hd("rollback", "--yes", "--json"); code != 0 {
		t.Fatalf("rollback: exit %d: %s", code, errOut)
	}
}
