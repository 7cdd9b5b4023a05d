package chaostest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
	"golang.org/x/sys/unix"
)

// TestChaosBadInput runs every command and flag of `hotdeploy --help` with empty, zero,
// negative, huge, non-numeric, unicode and special-file values (a FIFO, a directory, a symlink
// loop, a private copy of /dev/zero), each run bounded by a timeout, while a sandbox runs.
// Commands that would discover nginx get a pid file that names nothing, so nothing can be found;
// where --pidfile or --pid is the flag under test its bad value stands alone. Intended: exit 2
// (refused, one line on stderr). Wrong: a panic, a hang, a discovery, a changed sandbox (master,
// workers, binary, audit log), a changed special file.
func TestChaosBadInput(t *testing.T) {
	rng := needChaos(t)
	tg := newTarget(t)
	pre := tg.snapshotBefore()
	// The sandbox's audit log, with one real entry: no bad run may touch it.
	if r := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", upgradetest.Copy(t), "--dry-run", "--json")...); r.code != 0 {
		t.Fatalf("dry run to seed the audit log: %s", r.String())
	}
	auditWas, err := os.ReadFile(tg.audit)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	lists := badLists(t, tg, rng)
	t.Logf("%d argument lists", len(lists))
	for _, l := range lists {
		tally.Expect("bad input: "+l.cmd, 1)
	}
	var mu sync.Mutex
	jobs := make(chan badList)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range jobs {
				o, detail := badTry(t, l, root)
				mu.Lock()
				o2, detail2 := tg.checkUntouched(pre, auditWas)
				o.Wrong += o2.Wrong
				tally.Add(t, "bad input: "+l.cmd, o, strings.Join(nonEmpty(detail, detail2), "; "))
				mu.Unlock()
			}
		}()
	}
	for _, l := range lists {
		jobs <- l
	}
	close(jobs)
	wg.Wait()
}

// badList is one argument list and the command it exercises. Its arguments may hold the
// placeholders of specials, replaced by each run's own files.
type badList struct {
	cmd  string
	args []string
}

// Placeholders for the special files, made afresh for each run so runs in parallel cannot
// change each other's, and what a run changed is its own doing.
const (
	phFIFO    = "{fifo}"
	phDir     = "{dir}"
	phLoop    = "{loop}"
	phZero    = "{zero}"
	phMissing = "{missing}" // a path that does not exist, as a value
	phBogus   = "{bogus}"   // the pid file that names nothing, which the bases give
	phAudit   = "{audit}"   // a private audit log for the bases
)

// specials are one run's special files, in a private directory.
type specials struct {
	dir, fifo, adir, loop, zero, missing, bogus, privAudit, tmp string
}

func newSpecials(t *testing.T, root string) (*specials, error) {
	dir, err := os.MkdirTemp(root, "run-")
	if err != nil {
		return nil, err
	}
	sp := &specials{dir: dir, fifo: filepath.Join(dir, "fifo"), adir: filepath.Join(dir, "dir"),
		loop: filepath.Join(dir, "loop"), zero: filepath.Join(dir, "zero"), missing: filepath.Join(dir, "missing"),
		bogus: filepath.Join(dir, "names-nothing.pid"), privAudit: filepath.Join(dir, "audit", "audit.log"),
		tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{sp.adir, sp.tmp, filepath.Dir(sp.privAudit)} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := unix.Mkfifo(sp.fifo, 0o600); err != nil {
		return nil, err
	}
	if err := os.Symlink(sp.loop, sp.loop); err != nil {
		return nil, err
	}
	// A device node of our own that reads as /dev/zero: never the host's, whose mode a bad run
	// might change.
	if err := unix.Mknod(sp.zero, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
		return nil, fmt.Errorf("make a private /dev/zero: %w", err)
	}
	return sp, os.Chmod(sp.zero, 0o666)
}

// expand replaces the placeholders in args with this run's files.
func (sp *specials) expand(args []string) []string {
	r := strings.NewReplacer(phFIFO, sp.fifo, phDir, sp.adir, phLoop, sp.loop, phZero, sp.zero,
		phMissing, sp.missing, phBogus, sp.bogus, phAudit, sp.privAudit)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// state describes the special files and what the run's directory holds, to see that no run
// changed a special file it was given.
func (sp *specials) state() string {
	var b strings.Builder
	for _, p := range []string{sp.fifo, sp.adir, sp.loop, sp.zero} {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			fmt.Fprintf(&b, "%s: %v; ", filepath.Base(p), err)
			continue
		}
		fmt.Fprintf(&b, "%s: mode %o rdev %d; ", filepath.Base(p), st.Mode, st.Rdev)
	}
	return b.String()
}

// badValues are the values every flag gets.
func badValues() []string {
	return append(positionalValues(), "--")
}

// positionalValues are the bad positional arguments ("--" alone is the end of the flags, fine).
func positionalValues() []string {
	return []string{"", " ", "\t", "0", "-0", "-1", "-9223372036854775808", "99999999999999999999999",
		"9223372036854775808", "1e400", "abc", "12abc", "0x1F", "NaN", "ñandú", "日本語", "🙂", "١٢٣", "１２３",
		"\u202eevil", "-", strings.Repeat("9", 5000), strings.Repeat("é", 20000),
		phFIFO, phDir, phLoop, phZero, phDir + "/", phMissing}
}

// specialValue tells whether v names a special file: short runs keep every one of those.
func specialValue(v string) bool { return strings.HasPrefix(v, "{") }

var flagLine = regexp.MustCompile(`^\s+(?:-[a-z], )?--([a-z][a-z0-9-]*)(?: ([a-z]+))?\s`)

// flagsOf reads cmd's flags from its --help: name and whether it takes a value.
func flagsOf(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	args := []string{"--help"}
	if cmd != "" {
		args = []string{cmd, "--help"}
	}
	r := hd(t, hdOpts{timeout: 30 * time.Second}, args...)
	if r.code != 0 {
		t.Fatalf("%s --help: %s", cmd, r.String())
	}
	flags := map[string]bool{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil && m[1] != "help" {
			flags[m[1]] = m[2] != ""
		}
	}
	return flags
}

// badLists builds the argument lists: each command's base (the one that keeps it harmless)
// with one flag given one bad value, and each command with one bad positional argument. A short
// run gives each flag every special-file value and six others drawn by rng.
func badLists(t *testing.T, tg *target, rng *rand.Rand) []badList {
	t.Helper()
	bases := map[string][]string{
		"":           {"--pidfile", phBogus, "--audit-log", phAudit, "--read-only"},
		"status":     {"--pidfile", phBogus, "--json"},
		"upgrade":    {"--pidfile", phBogus, "--audit-log", phAudit, "--yes", "--json"},
		"rollback":   {"--pidfile", phBogus, "--audit-log", phAudit, "--yes", "--json"},
		"demo":       {"--port", "0"}, // never a valid demo: it would start a sandbox and a screen
		"version":    {},
		"completion": {"bash"},
		"man":        {},
		"help":       {},
	}
	values := func(all []string) []string {
		if mode == "full" {
			return all
		}
		var keep, others []string
		for _, v := range all {
			if specialValue(v) || v == "" {
				keep = append(keep, v)
			} else {
				others = append(others, v)
			}
		}
		rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		return append(keep, others[:6]...)
	}
	var lists []badList
	for _, cmd := range []string{"", "status", "upgrade", "rollback", "demo", "version", "completion", "man", "help"} {
		label := cmd
		if cmd == "" {
			label = "dashboard"
		}
		prefix := []string{}
		if cmd != "" {
			prefix = []string{cmd}
		}
		flags := flagsOf(t, cmd)
		names := make([]string, 0, len(flags))
		for f := range flags {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, flag := range names {
			for _, v := range values(badValues()) {
				var forms [][]string
				if flags[flag] {
					forms = [][]string{{"--" + flag, v}}
					if v == "" {
						forms = append(forms, []string{"--" + flag + "="})
					}
				} else {
					if _, err := strconv.ParseBool(v); err == nil {
						continue // a valid bool: not bad input
					}
					forms = [][]string{{"--" + flag + "=" + v}}
				}
				for _, f := range forms {
					args := append(append(append([]string{}, prefix...), f...), withoutFlag(bases[cmd], flag)...)
					lists = append(lists, badList{cmd: label, args: args})
				}
			}
		}
		for _, v := range values(positionalValues()) {
			args := append(append(append([]string{}, prefix...), v), bases[cmd]...)
			if cmd == "completion" || cmd == "help" {
				args = append(append([]string{}, prefix...), v)
			}
			lists = append(lists, badList{cmd: label, args: args})
		}
	}
	// Named: an upgrade of the running sandbox with a bad candidate, for real and as a dry run:
	// refused, nothing changed.
	for _, v := range values(positionalValues()) {
		for _, extra := range [][]string{{"--yes"}, {"--dry-run"}} {
			args := append([]string{"upgrade", "--pidfile", tg.sb.PidFile, "--audit-log", phAudit, "--json", "--new-binary", v}, extra...)
			lists = append(lists, badList{cmd: "upgrade of the sandbox, bad --new-binary", args: args})
		}
	}
	return lists
}

// withoutFlag drops flag (and its value) from base, so the flag under test stands alone.
func withoutFlag(base []string, flag string) []string {
	var out []string
	for i := 0; i < len(base); i++ {
		if base[i] == "--"+flag {
			if i+1 < len(base) && !strings.HasPrefix(base[i+1], "--") {
				i++
			}
			continue
		}
		out = append(out, base[i])
	}
	return out
}

// badTry runs one list, with its own special files, and judges it.
func badTry(t *testing.T, l badList, root string) (Outcome, string) {
	sp, err := newSpecials(t, root)
	if err != nil {
		return Outcome{}, "special files: " + err.Error()
	}
	defer os.RemoveAll(sp.dir)
	args := sp.expand(l.args)
	was := sp.state()
	r := hd(t, hdOpts{timeout: 15 * time.Second, dir: sp.dir,
		env: []string{"TMPDIR=" + sp.tmp, "HOME=" + sp.tmp, "XDG_RUNTIME_DIR=" + sp.tmp, "XDG_STATE_HOME=" + sp.tmp}}, args...)
	var wrong, why []string
	switch {
	case r.timedOut:
		wrong = append(wrong, "hung: killed after 15 s")
	case r.panicked():
		wrong = append(wrong, "panicked")
	case r.code < 0 || r.code > 3:
		wrong = append(wrong, fmt.Sprintf("exit %d, outside the contract's 0-3", r.code))
	}
	out := r.stdout + r.stderr
	if strings.Contains(out, "instances run") || strings.Contains(out, "no nginx master is running") || strings.Contains(r.stdout, `"instances":[{`) {
		wrong = append(wrong, "discovered nginx on the host: no instance was named")
	}
	if now := sp.state(); now != was {
		wrong = append(wrong, fmt.Sprintf("changed a special file: was %s now %s", was, now))
	}
	if ents, _ := os.ReadDir(sp.tmp); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		wrong = append(wrong, "left files in its TMPDIR (a sandbox started?): "+strings.Join(names, " "))
	}
	o := Outcome{Wrong: len(wrong), Intended: r.code == 2 && len(wrong) == 0}
	if r.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		o.Intended = false
		why = append(why, "more than one line on stderr")
	}
	if !o.Intended || len(wrong) > 0 {
		why = append(why, wrong...)
		why = append(why, fmt.Sprintf("args %q: exit %d, stderr %q, stdout %q", clipArgs(l.args), r.code, clip(r.stderr, 300), clip(r.stdout, 300)))
	}
	return o, strings.Join(why, "; ")
}

// checkUntouched says whether the sandbox still runs as it did, with its binary and audit log.
func (tg *target) checkUntouched(pre before, auditWas []byte) (Outcome, string) {
	tr := tg.read()
	var why []string
	if d := unchanged(pre.tr, tr); d != "" {
		why = append(why, "the sandbox changed: "+d)
	}
	if now, _ := os.ReadFile(tg.audit); string(now) != string(auditWas) {
		why = append(why, "the sandbox's audit log changed")
	}
	return Outcome{Wrong: len(why)}, strings.Join(why, "; ")
}

func clipArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = clip(a, 40)
	}
	return out
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
