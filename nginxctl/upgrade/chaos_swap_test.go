package upgrade_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/chaostest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosSwapAtRename is the chaos suite's one in-process case (make chaos runs it; `go test`
// skips it): the runner's hook between the checks of the staged candidate and its rename swaps
// the file at the candidate path, every way a file can be swapped: another build renamed over
// it, its bytes overwritten in place, its symlink pointed elsewhere, the file removed. Intended:
// the installed file is always the validated copy, never the swapped-in one, and restoring the
// running build afterwards loses no build.
func TestChaosSwapAtRename(t *testing.T) {
	mode := os.Getenv("HOTDEPLOY_CHAOS")
	if mode == "" {
		t.Skip("a chaos case: runs with HOTDEPLOY_CHAOS=short or full (make chaos-short, make chaos)")
	}
	tries := 2
	if mode == "full" {
		tries = 10
	}
	tally := &chaostest.Tally{}
	defer func() { tally.Write(os.Stdout, "chaos "+mode+": counts per case (package upgrade, its rename hook)") }()
	rg := newRig(t, 2)
	swapIn := upgradetest.Copy(t)
	for _, how := range []string{"renamed over", "overwritten in place", "symlink retargeted", "removed"} {
		name := "candidate " + how + " between its checks and the rename"
		tally.Expect(name, tries)
		for i := 0; i < tries; i++ {
			o, detail := swapAtRename(t, rg, how, swapIn)
			tally.Add(t, name, o, fmt.Sprintf("try %d: %s", i, detail))
		}
	}
}

// swapAtRename installs a fresh candidate with the hook swapping it, checks what landed, and
// restores the running build.
func swapAtRename(t *testing.T, rg *rig, how, swapIn string) (chaostest.Outcome, string) {
	dir := t.TempDir()
	real := upgradetest.Copy(t)
	cand := real
	if how == "symlink retargeted" {
		cand = filepath.Join(dir, "candidate-link")
		if err := os.Symlink(real, cand); err != nil {
			t.Fatal(err)
		}
	}
	validated, swapped := upgradetest.SHA256(t, real), upgradetest.SHA256(t, swapIn)
	var hookErr error
	ran := false
	rg.runner.SetBeforeRenameForTest(func(candidate, staged string) {
		ran = true
		hookErr = swap(how, candidate, real, swapIn)
	})
	defer rg.runner.SetBeforeRenameForTest(nil)
	before := buildsIn(t, rg)
	in, _, err := rg.runner.Install(context.Background(), rg.instance(), cand)
	o := chaostest.Outcome{}
	var why []string
	onDisk := upgradetest.SHA256(t, rg.sb.Binary)
	switch {
	case err != nil:
		why = append(why, fmt.Sprintf("install: %v", err))
	case !ran || hookErr != nil:
		why = append(why, fmt.Sprintf("the hook did not swap (ran %v): %v", ran, hookErr))
	case onDisk == swapped:
		o.Wrong++
		why = append(why, "the swapped-in file was installed")
	case onDisk != validated:
		why = append(why, fmt.Sprintf("the binary on disk is %.12s, neither the validated copy %.12s nor the swapped-in %.12s", onDisk, validated, swapped))
	default:
		o.Intended = true
	}
	if _, err := rg.runner.RestoreBinary(in); err != nil {
		o.Intended = false
		why = append(why, fmt.Sprintf("restore: %v", err))
	}
	after := buildsIn(t, rg)
	for sum, where := range before {
		if _, ok := after[sum]; !ok {
			o.Lost++
			why = append(why, fmt.Sprintf("lost build %.12s (was %s)", sum, where))
		}
	}
	return o, strings.Join(why, "; ")
}

// swap replaces what the candidate path holds, one way or another.
func swap(how, candidate, real, swapIn string) error {
	b, err := os.ReadFile(swapIn)
	if err != nil {
		return err
	}
	switch how {
	case "renamed over":
		if err := os.WriteFile(candidate+".swap", b, 0o755); err != nil {
			return err
		}
		return os.Rename(candidate+".swap", candidate)
	case "overwritten in place":
		return os.WriteFile(candidate, b, 0o755)
	case "symlink retargeted":
		if err := os.Remove(candidate); err != nil {
			return err
		}
		return os.Symlink(swapIn, candidate)
	case "removed":
		return os.Remove(real)
	}
	return fmt.Errorf("no swap %q", how)
}

// buildsIn maps the sha256 of every build beside the sandbox's binary, and of the running one,
// to a file holding it.
func buildsIn(t *testing.T, rg *rig) map[string]string {
	have := map[string]string{}
	dir := filepath.Dir(rg.sb.Binary)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "nginx") {
			p := filepath.Join(dir, e.Name())
			have[upgradetest.SHA256(t, p)] = p
		}
	}
	exe := fmt.Sprintf("/proc/%d/exe", rg.master)
	have[upgradetest.SHA256(t, exe)] = exe
	return have
}
