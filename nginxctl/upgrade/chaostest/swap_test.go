package chaostest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// swapperSource is a candidate that swaps the file at its own candidate path for another build
// while hotdeploy checks it, then behaves as the real nginx: the swap lands in the window between
// a check and the install deterministically, where a loop flipping files at random would almost
// never hit it. "preflight" swaps during the config test of the candidate path itself (before
// the copy is staged); "staged" during the config test of the staged copy (after it was made,
// before its rename).
const swapperSource = `package main

import (
	"os"
	"strings"
	"syscall"
)

var real, victim, evil, when string

func main() {
	test := false
	for _, a := range os.Args[1:] {
		test = test || a == "-t"
	}
	exe, _ := os.Executable()
	staged := strings.Contains(exe, ".hotdeploy-")
	if test && os.Getenv("NGINX") == "" && (when == "staged" && staged || when == "preflight" && exe == victim) {
		if b, err := os.ReadFile(evil); err == nil && os.WriteFile(victim+".swap", b, 0o755) == nil {
			os.Rename(victim+".swap", victim)
		}
	}
	err := syscall.Exec(real, os.Args, os.Environ())
	os.Stderr.WriteString("swapper: exec " + real + ": " + err.Error() + "\n")
	os.Exit(1)
}
`

// TestChaosSwappedCandidate: the candidate file is replaced while hotdeploy checks it. Intended:
// what is installed is the copy that was checked, and the result's new_build names it; a swap
// after the copy was staged never reaches the disk (committed, exit 0, the swapper's own bytes
// installed); a swap before it means the staged copy is the new file, checked as such: an
// invalid one is refused (exit 2, nothing changed), a valid one committed with new_build saying
// which build it is.
func TestChaosSwappedCandidate(t *testing.T) {
	needChaos(t)
	tries := pick(1, 4)
	dir := t.TempDir()
	victim := filepath.Join(dir, "nginx-candidate")
	evils := map[string]string{"valid nginx": upgradetest.Copy(t), "not nginx": upgradetest.Wrapper(t, upgradetest.ExitsOnV)}
	for _, when := range []string{"staged", "preflight"} {
		for _, kind := range []string{"valid nginx", "not nginx"} {
			name := fmt.Sprintf("candidate swapped for %s during the %s check", kind, when)
			tally.Expect(name, tries)
			swapper := buildGo(t, swapperSource, "swapper-"+when+"-"+strings.ReplaceAll(kind, " ", "-"),
				fmt.Sprintf("-X main.real=%s -X main.victim=%s -X main.evil=%s -X main.when=%s", mustNginx(t), victim, evils[kind], when))
			for i := 0; i < tries; i++ {
				t.Run(fmt.Sprintf("%s/%s/%d", when, kind, i), func(t *testing.T) {
					if err := sandbox.CopyFile(swapper, victim, 0o755); err != nil {
						t.Fatal(err)
					}
					o, detail := swapTry(t, victim, fileSum(t, swapper), fileSum(t, evils[kind]), when == "preflight" && kind == "not nginx")
					tally.Add(t, name, o, detail)
				})
			}
		}
	}
}

func swapTry(t *testing.T, victim, swapperSHA, evilSHA string, wantRefused bool) (Outcome, string) {
	tg := newTarget(t)
	pre := tg.snapshotBefore()
	rec := newRecorder(tg.sb.PidFile, pre.tr.master.pid, 10*time.Millisecond)
	r := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", victim, "--yes", "--json")...)
	rec.finish()
	swapped := fileSum(t, victim) == evilSHA
	tr, wrong := tg.judge(r, pre, false)
	o := Outcome{Wrong: len(wrong)}
	var why []string
	if !swapped {
		why = append(why, "the swapper never swapped: the case tested nothing")
	}
	if r.res != nil && r.res.NewBuild != nil && r.res.Result == "committed" && r.res.NewBuild.SHA256 != tr.binarySHA {
		o.Wrong++
		why = append(why, fmt.Sprintf("new_build says %.12s, the disk holds %.12s", r.res.NewBuild.SHA256, tr.binarySHA))
	}
	switch {
	case wantRefused:
		o.Intended = swapped && r.code == 2 && r.res != nil && r.res.Result == "refused" && unchanged(pre.tr, tr) == ""
	case !strings.Contains(t.Name(), "preflight"):
		o.Intended = swapped && r.code == 0 && r.res != nil && r.res.Result == "committed" && tr.binarySHA == swapperSHA
	default:
		// Swapped before staging, for a valid build: that build is what got copied and checked.
		o.Intended = swapped && r.code == 0 && r.res != nil && r.res.Result == "committed" && tr.binarySHA == evilSHA
	}
	if tr.binarySHA == evilSHA && !strings.Contains(t.Name(), "preflight") {
		why = append(why, "the swapped file was installed after the staged copy was checked")
	}
	if !o.Intended {
		why = append(why, fmt.Sprintf("got %s with %.12s on disk (swapper %.12s, swapped-in %.12s)", r.verdict(), tr.binarySHA, swapperSHA, evilSHA))
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

func fileSum(t *testing.T, path string) string {
	t.Helper()
	sum, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// buildGo compiles one Go source file into t.TempDir() and returns the binary's path.
func buildGo(t *testing.T, src, name, ldflags string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "-ldflags", ldflags, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	return out
}
