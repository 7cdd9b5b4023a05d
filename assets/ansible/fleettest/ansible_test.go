//go:build fleet

package fleettest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// host is one inventory host: a sandbox and the candidate the role gets for it ("" for none).
type host struct {
	*sandbox
	candidate string
}

// report is what the role records per host (hotdeploy_report) and writes to the summary file.
type report struct {
	Result      string    `json:"result"`
	RC          *int      `json:"rc"`
	ExitCode    *int      `json:"exit_code"`
	OldPID      int       `json:"old_pid"`
	NewPID      int       `json:"new_pid"`
	OldBuild    build     `json:"old_build"`
	NewBuild    build     `json:"new_build"`
	ElapsedMS   *int64    `json:"elapsed_ms"`
	Probe       *struct{} `json:"probe"`
	ProbeOK     *int64    `json:"probe_ok"`
	ProbeFailed *int64    `json:"probe_failed"`
	Error       string    `json:"error"`
	Stderr      []string  `json:"stderr"`
}

type build struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

type summaryRow struct {
	Host    string  `json:"host"`
	Reached bool    `json:"reached"`
	Report  *report `json:"report"`
}

// run is one ansible-playbook run: its exit code, its output, the summary it printed and the
// summary file's rows by host.
type run struct {
	code    int
	output  string
	printed []string
	rows    map[string]summaryRow
	changed map[string]int // PLAY RECAP's changed= per host
}

// playbook runs hot-upgrade.yml against hosts, in check mode if check. Bounded: 15 minutes.
func playbook(t *testing.T, name string, hosts []host, check bool) run {
	t.Helper()
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.json")
	inv := filepath.Join(dir, "hosts.yml")
	// JSON is YAML: the yaml inventory plugin reads it, hosts in this order.
	if err := os.WriteFile(inv, inventory(hosts, summary), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-i", inv, filepath.Join(env.ansibleDir, "hot-upgrade.yml")}
	if check {
		args = append(args, "--check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ansible-playbook", args...)
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_PIPELINING=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "local"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(dir, "remote"),
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r := run{output: string(out), rows: map[string]summaryRow{}}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("ansible-playbook: %v\n%s", err, out)
		}
		r.code = ee.ExitCode()
	}
	keepLog(t, name, r.output)
	t.Logf("%s: ansible-playbook exited %d after %s", name, r.code, time.Since(start).Round(time.Second))
	r.printed = printedSummary(r.output)
	t.Logf("%s: summary printed:\n%s", name, strings.Join(r.printed, "\n"))
	r.changed = recapChanged(r.output)
	if b, err := os.ReadFile(summary); err != nil {
		t.Errorf("%s: no summary file: %v\n%s", name, err, tail(r.output, 60))
	} else {
		var rows []summaryRow
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatalf("%s: summary file: %v\n%s", name, err, b)
		}
		for _, row := range rows {
			r.rows[row.Host] = row
		}
	}
	return r
}

// inventory writes the hosts with their own pid file, probe URL, stage directory and audit log.
func inventory(hosts []host, summary string) []byte {
	vars := map[string]any{}
	inv := map[string]any{"nginx": map[string]any{"hosts": vars, "vars": map[string]any{
		"ansible_connection":         "local",
		"ansible_python_interpreter": "/usr/bin/python3",
		"hotdeploy_deb":              env.deb,
		"hotdeploy_summary_path":     summary,
	}}}
	for _, h := range hosts {
		vars[h.name] = map[string]any{
			"hotdeploy_pidfile":   h.pidFile,
			"hotdeploy_probe_url": h.url,
			"hotdeploy_candidate": h.candidate,
			"hotdeploy_stage_dir": filepath.Join(h.dir, "stage"),
			"hotdeploy_tmp_dir":   h.dir,
			"hotdeploy_audit_log": filepath.Join(h.dir, "audit.log"),
		}
	}
	b, _ := json.MarshalIndent(inv, "", "  ")
	return b
}

// printedSummary returns the lines of the summary the playbook printed (the debug msg list).
func printedSummary(out string) []string {
	i := strings.Index(out, "TASK [nginx_hot_upgrade : Print the summary]")
	if i < 0 {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(out[i:], "\n")[1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		lines = append(lines, l)
	}
	return lines
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)`)

func recapChanged(out string) map[string]int {
	m := map[string]int{}
	if i := strings.Index(out, "PLAY RECAP"); i >= 0 {
		for _, g := range recapLine.FindAllStringSubmatch(out[i:], -1) {
			m[g[1]], _ = strconv.Atoi(g[2])
		}
	}
	return m
}

// keepLog saves a run's whole output under FLEET_LOG_DIR for the record.
func keepLog(t *testing.T, name, out string) {
	if env.logDir == "" {
		return
	}
	f := filepath.Join(env.logDir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()+"-"+name)+".txt")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Logf("keep the output: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// probeLine is hotdeploy's probe summary on stderr, which today's binary prints; the result
// object's probe field is the contract.
var probeLine = regexp.MustCompile(`probe \S+: (\d+) ok, (\d+) failed`)

func stderrProbe(r *report) (ok, failed int, found bool) {
	for _, l := range r.Stderr {
		if g := probeLine.FindStringSubmatch(l); g != nil {
			ok, _ = strconv.Atoi(g[1])
			failed, _ = strconv.Atoi(g[2])
			return ok, failed, true
		}
	}
	return 0, 0, false
}

func (r run) row(t *testing.T, name string) summaryRow {
	t.Helper()
	row, ok := r.rows[name]
	if !ok {
		t.Fatalf("host %s is missing from the summary (rows: %v)", name, r.rows)
	}
	return row
}

func (r run) String() string { return fmt.Sprintf("exit %d\n%s", r.code, tail(r.output, 80)) }
