package ui

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// Every view test renders without colour, as a golden file and a person with NO_COLOR see it.
// The screen's language follows the locale when no test names one: English, whatever the
// machine running the tests is set to.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	for _, v := range []string{"LC_ALL", "LC_MESSAGES"} {
		os.Unsetenv(v)
	}
	os.Setenv("LANG", "C")
	if os.Getenv(paintHelperEnv) != "" {
		paintHelper() // the test binary as a program in tmux: see TestCaptureReadsWholeFrames
		os.Exit(0)
	}
	os.Exit(withDriverDirs(m))
}

// t0 is the fixed "now" of the synthetic views.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// fakeSource serves synthetic instances; set swaps what the next read sees.
type fakeSource struct {
	mu   sync.Mutex
	snap model.Snapshot
	logs []string
}

func newFakeSource(ins ...model.Instance) *fakeSource {
	return &fakeSource{snap: model.Snapshot{Taken: t0, Instances: ins}}
}

func (f *fakeSource) set(ins ...model.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap.Instances = ins
}

func (f *fakeSource) Scan() (model.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, nil
}

func (f *fakeSource) Refresh(in model.Instance) (model.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.snap.Instances {
		if x.Key() == in.Key() {
			return x, nil
		}
	}
	return model.Instance{}, inspect.ErrGone
}

func (f *fakeSource) LogLines(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if path == "" {
		return nil
	}
	l := f.logs
	f.logs = nil
	return l
}

// fakeActor records the steps asked of it and answers with result.
type fakeActor struct {
	mu     sync.Mutex
	calls  []actorCall
	result StepResult
}

type actorCall struct {
	action    model.Action
	candidate string
	target    int
}

func (f *fakeActor) Do(_ context.Context, a model.Action, in model.Instance, candidate string) StepResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, actorCall{action: a, candidate: candidate, target: in.Masters[0].PID})
	return f.result
}

func (f *fakeActor) called() []actorCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]actorCall(nil), f.calls...)
}

// Synthetic processes. Pids: old master 1000 with workers 1001.., new master 2000 with 2001...
func proc(pid, ppid int, role model.Role, gen model.Generation, up time.Duration) model.Process {
	title := "nginx: worker process"
	switch role {
	case model.RoleMaster:
		title = "nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf"
	case model.RoleCacheManager:
		title = "nginx: cache manager process"
	case model.RoleCacheLoader:
		title = "nginx: cache loader process"
	}
	user := "www-data"
	if role == model.RoleMaster {
		user = "root"
	}
	return model.Process{PID: pid, PPID: ppid, Role: role, Generation: gen, Comm: "nginx", Title: title,
		User: user, StartTicks: uint64(pid) * 7, Started: t0.Add(-up), CPU: 0.4, RSS: 9 << 20, Conns: -1}
}

func synthMaster(pid, ppid int, gen model.Generation, up time.Duration, workers int, draining time.Duration) model.Master {
	m := model.Master{Process: proc(pid, ppid, model.RoleMaster, gen, up), Exe: "/usr/sbin/nginx", Version: "nginx/1.24.0",
		Argv: []string{"/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"}}
	m.RSS = 3 << 20
	for i := 1; i <= workers; i++ {
		w := proc(pid+i, pid, model.RoleWorker, gen, up-time.Second)
		if draining > 0 {
			w.Title += " is shutting down"
			w.ShuttingDown, w.DrainingSince = true, t0.Add(-draining)
		}
		m.Children = append(m.Children, w)
	}
	if draining == 0 {
		m.Children = append(m.Children,
			proc(pid+workers+1, pid, model.RoleCacheManager, gen, up-time.Second),
			proc(pid+workers+2, pid, model.RoleCacheLoader, gen, up-time.Second))
	}
	return m
}

func synthInstance(masters ...model.Master) model.Instance {
	in := model.Instance{Family: "nginx", PidFile: "/run/nginx.pid", Conf: "/etc/nginx/nginx.conf",
		Prefix: "/usr/share/nginx", ErrorLog: "/var/log/nginx/error.log", Binary: "/usr/sbin/nginx",
		BinaryVersion: "nginx/1.24.0", Masters: masters}
	in.PidFilePID = masters[len(masters)-1].PID
	if len(masters) > 1 {
		in.OldbinPID = masters[0].PID
		in.Masters[1].Version = "nginx/1.26.2"
		in.BinaryVersion = "nginx/1.26.2"
	}
	in.Phase = model.DerivePhase(in)
	return in
}

// idle: one master, the binary on disk the one running.
func idleInstance() model.Instance {
	return synthInstance(synthMaster(1000, 1, model.GenCurrent, 26*time.Hour, 2, 0))
}

// installed: idle, a new binary on disk.
func installedInstance() model.Instance {
	in := idleInstance()
	in.BinaryDiffers, in.BinaryVersion = true, "nginx/1.26.2"
	in.Masters[0].ExeReplaced = true
	return in
}

func bothServingInstance() model.Instance {
	old := synthMaster(1000, 1, model.GenOld, 26*time.Hour, 2, 0)
	old.ExeReplaced = true
	return synthInstance(old, synthMaster(2000, 1000, model.GenNew, 12*time.Second, 2, 0))
}

func oldDrainingInstance() model.Instance {
	old := synthMaster(1000, 1, model.GenOld, 26*time.Hour, 2, 47*time.Second)
	old.ExeReplaced = true
	return synthInstance(old, synthMaster(2000, 1000, model.GenNew, 70*time.Second, 2, 0))
}

func oldDrainedInstance() model.Instance {
	old := synthMaster(1000, 1, model.GenOld, 26*time.Hour, 0, 0)
	old.Children = nil
	old.ExeReplaced = true
	return synthInstance(old, synthMaster(2000, 1000, model.GenNew, 90*time.Second, 2, 0))
}

// newModel builds a dashboard on synthetic instances at 120x40.
func newModel(t *testing.T, opts Options, ins ...model.Instance) (Model, *fakeSource, *fakeActor) {
	t.Helper()
	src, act := newFakeSource(ins...), &fakeActor{}
	snap, _ := src.Scan()
	m := New(opts, Deps{Source: src, Actor: act, Clock: fixedClock{t0}}, &snap)
	m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return m, src, act
}

// update feeds one message and returns the model (its command is dropped).
func update(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	m, _ = updateCmd(t, m, msg)
	return m
}

func updateCmd(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T, want ui.Model", next)
	}
	return nm, cmd
}

// keyMsg turns a key name into the message bubbletea would send.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends keys one by one and returns the model and the last command.
func press(t *testing.T, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = updateCmd(t, m, keyMsg(k))
	}
	return m, cmd
}

func lipglossWidth(s string) int { return ansi.StringWidth(s) }

// manyWorkers is a both-serving instance with n workers per master.
func manyWorkers(n int) model.Instance {
	old := synthMaster(1000, 1, model.GenOld, 26*time.Hour, n, 0)
	return synthInstance(old, synthMaster(5000, 1000, model.GenNew, 12*time.Second, n, 0))
}
