// Package ui is the hotdeploy dashboard: a bubbletea program that shows the live nginx process
// tree and turns single keys into confirmed upgrade steps. It only shows state and asks; what
// is allowed comes from model, and what is done from nginxctl.
package ui

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// mode is what the keys drive right now.
type mode int

const (
	modeNormal  mode = iota
	modePicker       // choosing among several instances
	modeInput        // typing the candidate binary path
	modeConfirm      // a yes/no dialog carrying an action
	modeHelp         // the full key help
)

// defaultInterval is the refresh interval when none is given.
const defaultInterval = 250 * time.Millisecond

// scanEvery is how often the full discovery scan runs besides the cheap per-instance refresh.
// A scan of a few thousand processes costs about as much as fifty refreshes.
const scanEvery = 5 * time.Second

// idleRescan is how often the scan repeats while no instance is shown (none runs, or the
// operator is picking one): there is nothing cheap to refresh then, and scanning at the refresh
// interval would cost several percent of a core on a busy host.
const idleRescan = 2 * time.Second

// logKeep is how many error-log lines the dashboard keeps.
const logKeep = 200

// Deps are what the dashboard reads from and acts through; tests pass fakes.
type Deps struct {
	Source Source
	// Actor is nil when actions cannot run (read-only, or no audit log); ActorErr says why,
	// and ActorErrWhy the same as a reason, for the screen's language.
	Actor       Actor
	ActorErr    string
	ActorErrWhy model.Reason
	Clock       Clock
	// Probe is the traffic probe (--probe, on in the demo); ProbeErr says why it is off, and
	// ProbeErrWhy the same as a reason, for the screen's language.
	Probe       ProbeSource
	ProbeErr    string
	ProbeErrWhy model.Reason
	// Hold opens the demo's long-lived download (key l); nil outside the demo.
	Hold HoldFunc
	// Narration returns the guided demo's text for a key in the screen's language (see
	// guide.go); nil outside the demo.
	Narration func(key string) (Narration, bool)
	// AuditPath is where the audit log is written, for the summary after an upgrade ends.
	AuditPath string
	// Ticks, when set, times the quiet refresh loop at the interval instead of time.Sleep (see
	// ticks).
	Ticks <-chan struct{}
}

// Model is the root model: global keys and modes, then the panels.
type Model struct {
	opts   Options
	deps   Deps
	keys   KeyMap
	styles *Styles
	tr     translator

	width, height int
	mode          mode
	now           time.Time
	loop          int // the refresh loop running; see kick
	// gen is loop, shared with the quiet refresh loop's goroutine so a kick ends it.
	gen *atomic.Int64
	// memo keeps parts of the last frame View drew, by what they were drawn from.
	memo *viewMemo

	// What the last scan and refresh saw.
	scanned  bool
	scanErr  error
	lastScan time.Time
	// fullAt is when the last full read (a scan, or a refresh that read again) came in, by the
	// wall clock the quiet loop keeps time with.
	fullAt    time.Time
	scanDue   bool
	instances []model.Instance
	notes     []string
	notesWhy  []model.Reason
	selected  string // Key of the instance shown
	inst      model.Instance
	hasInst   bool
	logPath   string
	log       []string

	picker    int
	candidate string
	input     *textinput.Model // a pointer: the model is copied with every message
	dialog    *confirm
	busy      *running
	record    stepLog
	// quitSent is the old master a commit sent SIGQUIT to without seeing it leave (it still
	// drains): rollback to it is no longer possible.
	quitSent int
	// quitUnsure: that SIGQUIT may not have gone out (the journal says "sending").
	quitUnsure bool
	output     *output
	flash      *flash

	// drv is what the last refresh read of the instance's drivers (lock.go).
	drv driverView

	// Traffic proof (issue 4): the probe's last stats, which master each worker belongs to (so
	// answers of exited workers still count for their generation), the held download.
	probeStats *traffic.ProbeStats
	owners     traffic.WorkerOwners
	held       Holder
	heldInfo   heldState
	holding    bool
	narrate    bool

	// logBack is how many error-log lines the pane is scrolled back from the tail (0: it follows
	// the tail); helpTop is the first line of the help shown.
	logBack int
	helpTop int
	// ended is the summary of the upgrade that ended last (commit or rollback), until the next
	// step; the panel shows it while summaryOpen (esc closes it).
	ended       *ending
	summaryOpen bool
	// scenario is the demo's failure scenario, for its narration ("" for none);
	// scenarioStarted is set once what it does at the start was done.
	scenario        string
	scenarioStarted bool
}

// running is the step in progress: one at a time.
type running struct {
	action model.Action
	cancel context.CancelFunc
}

// flash is a one-line message in the footer, cleared by the next key.
type flash struct {
	text  string
	isErr bool
}

// output is a result panel: the config test's lines, or a failed step's error-log lines.
type output struct {
	title string
	lines []string
	isErr bool
}

// New builds the dashboard. initial, when non-nil, is a scan already made (to check --pid or
// --pidfile before the screen opens).
func New(opts Options, deps Deps, initial *model.Snapshot) Model {
	if deps.Clock == nil {
		deps.Clock = wallClock{}
	}
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	lang := opts.Lang.orEnv()
	styles := DefaultStyles().forLang(lang)
	m := Model{
		opts: opts, deps: deps, keys: DefaultKeyMap(), styles: &styles,
		tr: newTranslator(lang), candidate: opts.NewBinary, width: 80, height: 24,
		owners: traffic.WorkerOwners{}, narrate: opts.demo, scenario: opts.scenario, gen: new(atomic.Int64),
		memo: &viewMemo{},
	}
	m.input = newPathInput(m.styles, m.tr)
	m.now = deps.Clock.Now()
	if initial != nil {
		m.applyScan(*initial, nil)
	}
	m.syncKeys()
	return m
}

// Init starts the refresh loop: a scan first unless one was handed in.
func (m Model) Init() tea.Cmd {
	if m.scanned {
		return m.tick()
	}
	return m.read()
}

// context is the model.Context the verdicts are taken in.
func (m Model) context() model.Context {
	ctx := model.Context{ReadOnly: m.opts.ReadOnly, QuitSent: m.quitSent, QuitUnsure: m.quitUnsure}
	if m.busy != nil {
		ctx.Busy = m.title(m.busy.action) // it is said in a sentence of the screen's language
	}
	return ctx
}

// verdict decides one action on the instance shown. Besides model's rules, u is refused while
// the file on disk holds the very build that runs (a rollback restored it, or a copy was
// installed): starting it would only restart the same code, and DESIGN.md has the dashboard say
// "install a new build first" there.
func (m Model) verdict(a model.Action) model.Verdict {
	if !m.hasInst {
		return refusal(a, N("no nginx master is running"))
	}
	v := m.driverVerdict(model.Check(m.inst, m.context(), a))
	if v.Allowed && m.deps.Actor == nil {
		v = model.Verdict{Action: a, Reason: m.deps.ActorErr, Why: m.deps.ActorErrWhy}
		if v.Reason == "" {
			v = refusal(a, N("actions are not available"))
		}
	}
	return v
}

// why is a verdict's reason in the screen's language.
func (m Model) why(v model.Verdict) string {
	if v.Reason == "" {
		return ""
	}
	return m.reasonText(v)
}

// rollbackApplies tells whether a rollback has something to undo: an upgrade is under way, a
// dead master's processes still run (the rollback ends them), or another build is on disk than
// the master runs (installed and never started, or its new master died: the rollback puts the
// running build back).
func (m Model) rollbackApplies() bool {
	in := m.inst
	return m.hasInst && (in.New() != nil || len(in.Orphans) > 0 || in.BinaryDiffers && !in.BinarySameBytes)
}

// syncKeys shows or hides bindings after the state changed: read-only hides every action,
// rollback shows only while it applies, the picker key only with several instances.
func (m *Model) syncKeys() {
	for _, a := range model.Actions {
		m.keys.action(a).SetEnabled(!m.opts.ReadOnly)
	}
	m.keys.Rollback.SetEnabled(!m.opts.ReadOnly && m.rollbackApplies())
	m.keys.Pick.SetEnabled(len(m.instances) > 1 && m.opts.Target == (inspect.Target{}))
	m.keys.Hold.SetEnabled(m.deps.Hold != nil && !m.opts.ReadOnly)
	m.keys.Narrate.SetEnabled(m.deps.Narration != nil)
}
