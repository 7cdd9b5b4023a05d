package chaostest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// fsCase is one filesystem fault: where it is, how much room it leaves, and the verdict intended.
type fsCase struct {
	name string
	// binFree, when set, puts the binary's directory on a small tmpfs filled until that many
	// bytes are left, given the sizes of the running binary and of the candidate.
	binFree func(running, cand int64) int64
	// auditFree, when >= 0, does the same for the audit log's directory.
	auditFree int64
	// roBin and roAudit bind-mount the directory read-only.
	roBin, roAudit bool
	cand           string // candidate kind: "copy" or a upgradetest wrapper mode
	// want is "refused" (exit 2, nothing changed) or "rolled-back" (exit 1, the old build on
	// disk and serving).
	want string
}

// TestChaosFullFilesystem: the binary's directory or the audit log's on a full tmpfs, or on a
// read-only bind mount. Intended: refused, exit 2 with nothing changed, whenever the room runs
// out before the install's rename; once the candidate is installed, a clean rollback (exit 1,
// the old build back on disk and serving) when the new master then fails.
func TestChaosFullFilesystem(t *testing.T) {
	needChaos(t)
	tries := pick(1, 3)
	nginxSize := fileSize(t, mustNginx(t))
	cands := map[string]string{"copy": upgradetest.Copy(t), upgradetest.DiesAsNewMaster: upgradetest.Wrapper(t, upgradetest.DiesAsNewMaster)}
	const none = -1
	free := func(f func(running, cand int64) int64) func(running, cand int64) int64 { return f }
	cases := []fsCase{
		{name: "binary dir full: no room to stage", auditFree: none, cand: "copy", want: "refused",
			binFree: free(func(_, _ int64) int64 { return 0 })},
		{name: "binary dir full: half a candidate free", auditFree: none, cand: "copy", want: "refused",
			binFree: free(func(_, c int64) int64 { return c / 2 })},
		{name: "binary dir full: room to stage, not to back up", auditFree: none, cand: "copy", want: "refused",
			binFree: free(func(r, c int64) int64 { return c + r/2 })},
		{name: "binary dir full: room to install, not to restore; new master dies", auditFree: none,
			cand: upgradetest.DiesAsNewMaster, want: "rolled-back",
			binFree: free(func(r, c int64) int64 { return c + r + r/2 })},
		{name: "audit dir full: no room", auditFree: 0, cand: "copy", want: "refused"},
		{name: "audit dir full: one page free", auditFree: 4096, cand: "copy", want: "refused"},
		{name: "audit dir full: two pages free", auditFree: 8192, cand: "copy", want: "refused"},
		{name: "binary dir read-only", auditFree: none, roBin: true, cand: "copy", want: "refused"},
		{name: "audit dir read-only", auditFree: none, roAudit: true, cand: "copy", want: "refused"},
	}
	for _, c := range cases {
		tally.Expect(c.name, tries)
		for i := 0; i < tries; i++ {
			t.Run(fmt.Sprintf("%s/%d", c.name, i), func(t *testing.T) {
				o, detail := fsTry(t, c, cands[c.cand], nginxSize)
				tally.Add(t, c.name, o, detail)
			})
		}
	}
}

func fsTry(t *testing.T, c fsCase, cand string, nginxSize int64) (Outcome, string) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Dir: dir, Workers: 2})
	sbin := filepath.Dir(sb.Binary)
	auditDir := filepath.Join(t.TempDir(), "audit")
	if err := os.Mkdir(auditDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if c.binFree != nil {
		free := c.binFree(nginxSize, fileSize(t, cand))
		mountTmpfs(t, sbin, 4*nginxSize+free+(1<<20))
		if err := sandbox.CopyFile(mustNginx(t), sb.Binary, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("binary dir: %d bytes free (running binary %d, candidate %d)", fill(t, sbin, free), nginxSize, fileSize(t, cand))
	}
	if c.auditFree >= 0 {
		mountTmpfs(t, auditDir, 1<<20)
		t.Logf("audit dir: %d bytes free", fill(t, auditDir, c.auditFree))
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	tg := &target{t: t, sb: sb, audit: filepath.Join(auditDir, "audit.log"), sums: newSumCache()}
	tg.settled()
	if c.roAudit {
		if err := os.WriteFile(tg.audit, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		bindReadOnly(t, auditDir)
	}
	if c.roBin {
		bindReadOnly(t, sbin)
	}
	pre := tg.snapshotBefore()
	auditBefore, _ := os.ReadFile(tg.audit)
	rec := newRecorder(sb.PidFile, pre.tr.master.pid, 10*time.Millisecond)
	r := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json", "--ready-timeout", "5s")...)
	rec.finish()
	tr, wrong := tg.judge(r, pre, false)
	o := Outcome{Wrong: len(wrong)}
	var why []string
	switch c.want {
	case "refused":
		o.Intended = r.code == 2 && r.res != nil && r.res.Result == "refused" && unchanged(pre.tr, tr) == ""
		if sigs := signalsIn(tg.audit, auditBefore); len(sigs) > 0 {
			o.Intended = false
			why = append(why, "signals recorded: "+joinLines(sigs))
		}
	case "rolled-back":
		o.Intended = r.code == 1 && r.res != nil && r.res.Result == "rolled-back" && tr.master == pre.tr.master &&
			tr.binarySHA == pre.tr.binarySHA
	}
	if !o.Intended {
		why = append(why, fmt.Sprintf("want %s, got %s; master %v (was %v), binary %.12s (was %.12s)",
			c.want, r.verdict(), tr.master, pre.tr.master, tr.binarySHA, pre.tr.binarySHA))
	}
	if r.res != nil && len(r.res.Warnings) > 0 {
		why = append(why, "warnings: "+joinLines(r.res.Warnings))
	}
	if leaks := rec.leaks(tr.master.pid); len(leaks) > 0 {
		o.Leaked = len(leaks)
		why = append(why, "left running: "+joinLines(leaks))
	}
	if l := lost(pre.builds, tg.builds(tr.master)); len(l) > 0 {
		o.Lost = len(l)
		why = append(why, "lost: "+joinLines(l))
	}
	if len(wrong) > 0 {
		why = append(why, "wrong: "+joinLines(wrong))
	}
	if len(why) > 0 {
		why = append(why, r.String())
	}
	return o, strings.Join(why, "; ")
}

// signalsIn lists the signal entries the audit log gained since it held was.
func signalsIn(path string, was []byte) []string {
	now, _ := os.ReadFile(path)
	var out []string
	for _, line := range strings.Split(strings.TrimPrefix(string(now), string(was)), "\n") {
		if strings.Contains(line, `"signal":"SIG`) {
			out = append(out, clip(line, 200))
		}
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func mustNginx(t *testing.T) string {
	t.Helper()
	p, err := sandbox.FindNginx()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
