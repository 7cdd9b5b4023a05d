package ui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	nproc "github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// screenCase is one sentence that reaches the screen: what the command line and JSON print of
// it, and how the dashboard draws it in a language.
type screenCase struct {
	name string
	// english is the sentence as the command line and JSON print it, whatever the screen's
	// language.
	english string
	// screen is the text the dashboard draws for it in lang.
	screen func(t *testing.T, lang Lang) string
	// keep is what stays English on every screen: the OS's error text, HTTP's status, a
	// process's identity as the kernel names it.
	keep []string
}

// TestNoEnglishLeftOnTheChineseScreen renders each sentence issue 16 found still in English on a
// zh-CN screen (errors wrapped with %w, the journal-backup note, systemd's findings, the held
// download's errors, the scan's error, the cause of "actions disabled", the supervisor, each
// draining worker, the instance's warnings) as the dashboard draws it: in Chinese, no English
// sentence is left but the OS's words and paths, pids and numbers; in English, the very sentence
// the command line prints.
func TestNoEnglishLeftOnTheChineseScreen(t *testing.T) {
	for _, tc := range screenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			en := tc.screen(t, LangEnglish)
			if !strings.Contains(en, tc.english) {
				t.Errorf("English screen %q\nwant the command line's sentence %q", en, tc.english)
			}
			zh := tc.screen(t, LangChinese)
			if left := englishLeft(zh, tc.keep); len(left) > 0 {
				t.Errorf("zh-CN screen %q\nstill says in English: %q", zh, left)
			}
		})
	}
}

// technical is what a Chinese sentence keeps as it is: commands and directives in backquotes,
// quoted values (%q), paths and URLs, a directive, command or process named in passing.
var technical = regexp.MustCompile("`[^`]*`" + `|"[^"]*"|[\w.:=+-]*/[\w./:=+-]*|daemon o(n|ff)|systemctl \w+|nginx -\w|nginx master|Type=\w+`)

// englishWords is two or more ASCII words in a row: an English phrase. Single words (master,
// worker, nginx, pid, MainPID) are the terms the Chinese catalogue keeps.
var englishWords = regexp.MustCompile(`[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*)+`)

// englishLeft returns the English phrases of s once keep and the technical parts are taken out.
func englishLeft(s string, keep []string) []string {
	for _, k := range keep {
		if k != "" {
			s = strings.ReplaceAll(s, k, " ")
		}
	}
	return englishWords.FindAllString(technical.ReplaceAllString(s, " "), -1)
}

// stepFailure is the title and lines of the panel a failed step opens.
func stepFailure(t *testing.T, lang Lang, a model.Action, res StepResult) string {
	t.Helper()
	m, _, _ := newModel(t, Options{Lang: lang}, bothServingInstance())
	m = update(t, m, stepDoneMsg{action: a, res: res})
	if m.output == nil {
		t.Fatalf("no result panel after a failed %s", a)
	}
	return m.output.title + "\n" + strings.Join(m.output.lines, "\n")
}

// withReason is a failed step that reported r on its way, as the runner does: its English text
// and its reason.
func withReason(r model.Reason) StepResult {
	why := model.Because("the new master %d exited while the old workers drained; roll back to restart the old workers", 2000)
	return StepResult{Lines: []string{r.String()}, Whys: []model.Reason{r},
		Err: &upgrade.StepError{Step: "drain", Reason: why.String(), Why: why}}
}

func screenCases(t *testing.T) []screenCase {
	dir := t.TempDir()
	var cases []screenCase

	// 1. Errors wrapped with %w: a candidate that is not there, a process gone before its signal.
	missing := filepath.Join(dir, "sbin", "nginx")
	cerr := inspect.CheckExecutable(missing)
	var statErr *fs.PathError
	if !errors.Is(cerr, fs.ErrNotExist) || !errors.As(cerr, &statErr) {
		t.Fatalf("CheckExecutable(%s) = %v: want it to wrap stat's fs.ErrNotExist", missing, cerr)
	}
	cases = append(cases, screenCase{name: "candidate stat error", english: cerr.Error(), keep: []string{statErr.Error()},
		screen: func(t *testing.T, lang Lang) string {
			m, _, _ := newModel(t, Options{Lang: lang}, installedInstance())
			m.mode = modeInput
			m, _ = m.onCandidate(candidateMsg{path: missing, err: cerr})
			return m.flash.text
		}})
	gone := model.Ref{PID: 1 << 22, StartTicks: 1, Comm: "nginx", Role: model.RoleMaster}
	serr := nproc.Signal(gone, 0)
	if !errors.Is(serr, nproc.ErrGone) {
		t.Fatalf("Signal(%v) = %v: want nproc.ErrGone", gone, serr)
	}
	cases = append(cases, screenCase{name: "signal to a gone master", english: serr.Error(), keep: []string{gone.String()},
		screen: func(t *testing.T, lang Lang) string {
			return stepFailure(t, lang, model.ActCommit, StepResult{Err: &upgrade.StepError{Step: "commit", Refused: true,
				Reason: serr.Error(), Why: model.ReasonOf(serr), Err: serr}})
		}})

	// 2. The journal-backup note of a rollback (as RestoreBinary emits it; restoreSource's own
	// test in package upgrade checks it says this).
	berr := &fs.PathError{Op: "open", Path: "/usr/sbin/nginx.old", Err: fs.ErrNotExist}
	note := model.Because("the journal's backup %s cannot be read (%v): restored from %s instead", "/usr/sbin/nginx.old", berr, "/proc/1000/exe")
	cases = append(cases, screenCase{name: "journal backup note", english: note.String(), keep: []string{berr.Error()},
		screen: func(t *testing.T, lang Lang) string { return stepFailure(t, lang, model.ActRollback, withReason(note)) }})

	// 3. systemd's findings, as the dashboard draws them among the instance's warnings.
	unit := supervisor.Unit{Name: "nginx.service", ActiveState: "active", SubState: "running", Type: "forking",
		PIDFile: "/run/nginx.pid", MainPID: 1000}
	noPidFile, simple, failed, lost := unit, unit, unit, unit
	noPidFile.PIDFile, simple.Type, failed.ActiveState, failed.SubState, lost.MainPID = "", "simple", "failed", "failed", 4242
	both := bothServingInstance()
	both.Masters[1].Children[0].ShuttingDown = true
	reload := unit
	reload.MainPID = 2000
	for _, f := range []struct {
		name string
		f    *supervisor.Finding
	}{
		{"pid file mismatch", supervisor.CheckPidFile("/var/run/nginx/nginx.pid", unit)},
		{"no PIDFile=", supervisor.CheckPidFile("/run/nginx.pid", noPidFile)},
		{"Type=simple", supervisor.CheckType(simple, false)},
		{"daemon off", supervisor.CheckType(unit, true)},
		{"reload trap", supervisor.ReloadTrap(both, reload)},
		{"inactive after commit", supervisor.AfterCommit(idleInstance(), failed)},
		{"MainPID wrong after rollback", supervisor.AfterRollback(idleInstance(), lost)},
		{"MainPID wrong now", supervisor.Check(idleInstance(), lost)},
	} {
		if f.f == nil {
			t.Fatalf("systemd %s: no finding", f.name)
		}
		cases = append(cases, screenCase{name: "systemd " + f.name, english: f.f.String(),
			screen: func(t *testing.T, lang Lang) string { return warningsOf(t, lang, f.f.Reason()) }})
	}

	// 4. The held download's errors: nothing listens, a URL that does not answer 2xx, every try
	// landing on a worker not wanted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	_, herr := traffic.HoldConnectionWhere(context.Background(), closed, func(int) bool { return true })
	cases = append(cases, holdCase("hold: refused", herr))
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	_, herr = traffic.HoldConnectionWhere(context.Background(), notFound.URL+"/", func(int) bool { return true })
	c := holdCase("hold: 404", herr)
	c.keep = []string{"404 Not Found"}
	cases = append(cases, c)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker-Pid", "1001")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer slow.Close()
	_, herr = traffic.HoldConnectionWhere(context.Background(), slow.URL+"/", func(int) bool { return false })
	cases = append(cases, holdCase("hold: other workers", herr))

	// 5. The scan's error, when no instance is shown: a pid file that is not there, a pid that
	// runs no nginx, this very process (no nginx master), and the instance gone.
	sc := inspect.NewScanner()
	defer sc.Close()
	for _, tg := range []struct {
		name string
		tg   inspect.Target
	}{
		{"no pid file", inspect.Target{PidFile: filepath.Join(dir, "nginx.pid")}},
		{"pid not running", inspect.Target{PID: 1 << 22}},
		{"pid not nginx", inspect.Target{PID: os.Getpid()}},
	} {
		_, err := sc.Resolve(tg.tg)
		if err == nil {
			t.Fatalf("Resolve(%+v) found an instance", tg.tg)
		}
		cases = append(cases, scanCase("scan: "+tg.name, err))
	}
	cases = append(cases, scanCase("scan: instance gone", inspect.ErrGone))

	// 6. The cause of "actions disabled": an audit log that cannot be opened.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, aerr := audit.Open(filepath.Join(file, "audit.log"))
	if aerr == nil {
		t.Fatal("audit.Open under a regular file succeeded")
	}
	var pe *fs.PathError
	if !errors.As(aerr, &pe) {
		t.Fatalf("audit.Open = %v: want it to wrap the OS's error", aerr)
	}
	actorErr, actorWhy := actionsDisabled(aerr)
	for _, where := range []string{"status line", "refusal"} {
		cases = append(cases, screenCase{name: "actions disabled, " + where, english: actorErr, keep: []string{pe.Error()},
			screen: func(t *testing.T, lang Lang) string {
				src := newFakeSource(installedInstance())
				snap, _ := src.Scan()
				m := New(Options{Lang: lang}, Deps{Source: src, Clock: fixedClock{t0}, ActorErr: actorErr, ActorErrWhy: actorWhy}, &snap)
				m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
				if where == "refusal" {
					m, _ = press(t, m, "u")
					return m.flash.text
				}
				line, _ := m.statusLine()
				return line
			}})
	}

	// 7. Who supervises the master: a container's PID 1, supervisord.
	for _, p := range []supervisor.Parent{{PID: 1, Comm: "tini", InContainer: true}, {PID: 77, Comm: "supervisord"}} {
		s := supervisor.ClassifyParent(p)
		cases = append(cases, screenCase{name: "supervisor " + p.Comm, english: "supervised by " + s.String(),
			screen: func(t *testing.T, lang Lang) string {
				in := idleInstance()
				in.Supervisor, in.SupervisorWhy = s.String(), s.Reason()
				m, _, _ := newModel(t, Options{Lang: lang}, in)
				return supervisionLine(m.styles, m.tr, in, 200)
			}})
	}

	// 8. Each draining worker, in the drain's progress and in its timeout.
	draining := model.Reasons{model.Because("%s %d for %s", model.RoleWorker, 1001, 47*time.Second),
		model.Because("%s %d for %s", model.RoleWorker, 1002, 2300*time.Millisecond)}
	state := model.Because("old master %d: %d children left, %d still accepting; draining: %s", 1000, 2, 0, draining)
	cases = append(cases, screenCase{name: "draining workers", english: state.String(),
		screen: func(t *testing.T, lang Lang) string { return stepFailure(t, lang, model.ActDrain, withReason(state)) }})
	timeout := model.Because("%d old processes still drain after %s: long-lived connections hold them (%s)", 2, time.Minute, state)
	cases = append(cases, screenCase{name: "drain timeout", english: timeout.String(),
		screen: func(t *testing.T, lang Lang) string {
			return stepFailure(t, lang, model.ActDrain, StepResult{Err: &upgrade.StepError{Step: "drain", Reason: timeout.String(), Why: timeout}})
		}})

	// 9. The instance's warnings (a stale pid file as the scan finds it; systemd's above).
	stale := model.Because("pid file %s is stale: it names pid %d, which is no master of this instance (master %d)", "/run/nginx.pid", 4242, 1000)
	cases = append(cases, screenCase{name: "warning: stale pid file", english: stale.String(),
		screen: func(t *testing.T, lang Lang) string { return warningsOf(t, lang, stale) }})

	// 10. A signal refused because the pid now names another process (a live one, seen with
	// another start time), as the runner reports it and as a bare error.
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	st, err := nproc.NewReader().Stat(sleeper.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	stranger := model.Ref{PID: sleeper.Process.Pid, StartTicks: st.StartTicks + 1, Comm: "nginx", Role: model.RoleMaster}
	ierr := nproc.Signal(stranger, syscall.SIGQUIT)
	var ie *nproc.IdentityError
	if !errors.As(ierr, &ie) {
		t.Fatalf("Signal(%v) = %v: want an IdentityError", stranger, ierr)
	}
	cases = append(cases, screenCase{name: "identity refusal", english: ierr.Error(), keep: []string{stranger.String()},
		screen: func(t *testing.T, lang Lang) string {
			return stepFailure(t, lang, model.ActCommit, StepResult{Err: &upgrade.StepError{Step: "commit", Refused: true,
				Reason: ierr.Error(), Why: model.ReasonOf(ierr), Err: ierr}})
		}})
	cases = append(cases, screenCase{name: "identity refusal, bare", english: ierr.Error(), keep: []string{stranger.String()},
		screen: func(t *testing.T, lang Lang) string {
			return stepFailure(t, lang, model.ActCommit, StepResult{Err: ierr})
		}})

	// 11. Another driver holds the instance: a second Acquire of a lock this process holds, the
	// refusal of a lock file not yet written, and what the dashboard says while it watches the
	// holder (its refusal of an action, its status line).
	lockDir := filepath.Join(dir, "locks")
	key := driver.Key("/run/nginx.pid")
	held, err := driver.Acquire(lockDir, key, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Release() })
	if err := held.SetStep("drain"); err != nil {
		t.Fatal(err)
	}
	_, herr2 := driver.Acquire(lockDir, key, "dashboard")
	var he *driver.HeldError
	if !errors.As(herr2, &he) || he.Holder == nil {
		t.Fatalf("a second Acquire = %v: want a HeldError naming the holder", herr2)
	}
	starting := &driver.HeldError{Instance: key, Path: driver.LockPath(lockDir, key)}
	for _, h := range []struct {
		name string
		err  error
	}{{"held", herr2}, {"held, holder starting", starting}} {
		cases = append(cases, screenCase{name: h.name, english: h.err.Error(),
			screen: func(t *testing.T, lang Lang) string {
				return stepFailure(t, lang, model.ActUpgrade, StepResult{Err: h.err})
			}})
	}
	holder := *he.Holder
	for _, sudo := range []string{"", "alice"} {
		h := holder
		h.SudoUser = sudo
		cases = append(cases, screenCase{name: "other driver refuses, sudo " + sudo, english: h.String() + ": wait for it or stop it",
			screen: func(t *testing.T, lang Lang) string {
				m, _, _ := newModel(t, Options{Lang: lang}, installedInstance())
				m.drv.other = &h
				m, _ = press(t, m, "u")
				if m.flash == nil {
					t.Fatal("no refusal shown")
				}
				return m.flash.text
			}})
	}
	fresh := holder
	fresh.Step = ""
	cases = append(cases, screenCase{name: "other driver status line", english: fresh.String() + ": no action is offered until it lets go",
		screen: func(t *testing.T, lang Lang) string {
			m, _, _ := newModel(t, Options{Lang: lang}, installedInstance())
			m.drv.other = &fresh
			line, _ := m.statusLine()
			return line
		}})

	// 12. A commit refused because the new master died before its SIGQUIT (the runner's own
	// test in package upgrade checks it says this).
	dead := model.Because("the new master %d is gone: the old master %d serves and was not sent SIGQUIT", 2000, 1000)
	cases = append(cases, screenCase{name: "commit: new master gone", english: dead.String(),
		screen: func(t *testing.T, lang Lang) string {
			return stepFailure(t, lang, model.ActCommit, StepResult{Err: &upgrade.StepError{Step: "commit", Refused: true, Reason: dead.String(), Why: dead}})
		}})
	return cases
}

// warningsOf is the warning lines of an instance with one warning, on a screen wide enough to
// show it whole.
func warningsOf(t *testing.T, lang Lang, r model.Reason) string {
	t.Helper()
	in := idleInstance()
	in.Warn(r)
	m, _, _ := newModel(t, Options{Lang: lang}, in)
	return strings.Join(warningLines(m.styles, m.tr, in, 2000, 3), "\n")
}

// holdCase is the flash that says why l could not hold a download.
func holdCase(name string, err error) screenCase {
	return screenCase{name: name, english: fmt.Sprint(err), screen: func(t *testing.T, lang Lang) string {
		if err == nil {
			t.Fatal("the held download opened")
		}
		m, _, _ := newModel(t, Options{Lang: lang}, idleInstance())
		m = m.onHeld(heldMsg{err: err})
		return m.flash.text
	}}
}

// scanCase is the calm screen shown while no instance is, with the scan's error.
func scanCase(name string, err error) screenCase {
	var q string
	if m := regexp.MustCompile(`"[^"]*"`).FindString(err.Error()); m != "" {
		q = m // a process's title, as /proc has it
	}
	return screenCase{name: name, english: err.Error(), keep: []string{q}, screen: func(t *testing.T, lang Lang) string {
		m := New(Options{Lang: lang}, Deps{Source: newFakeSource(), Actor: &fakeActor{}, Clock: fixedClock{t0}}, nil)
		m.applyScan(model.Snapshot{}, err)
		return m.renderNoInstance(2000)
	}}
}
