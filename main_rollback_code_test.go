package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestCLIRollbackResultSaysExit0: a `rollback` that rolled back exits 0, and its result object's
// exit_code says 0 too: scripts read exit_code as the verdict (the chaos suite found it said 1,
// the exit code of an upgrade that had to roll back).
func TestCLIRollbackResultSaysExit0(t *testing.T) {
	c := newCLITarget(t)
	code, out, errOut := c.hd("upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--stop-after", "drain")
	if res := upgradetest.LastResult(t, out); code != 0 || res.Result != "drained" {
		t.Fatalf("upgrade --stop-after drain: exit %d, %+v\n%s%s", code, res, out, errOut)
	}
	code, out, errOut = c.hd("rollback", "--yes", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res struct {
		Result   string `json:"result"`
		ExitCode *int   `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line: %v\n%s", err, out)
	}
	if code != 0 || res.Result != "rolled-back" || res.ExitCode == nil || *res.ExitCode != code {
		t.Fatalf("rollback: exit %d, result %q with exit_code %v; want exit 0 and exit_code 0\n%s%s", code, res.Result, res.ExitCode, out, errOut)
	}
}
