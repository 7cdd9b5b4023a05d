package traffic

import (
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// Failure kinds counted by the probe.
const (
	FailRefused = "refused" // nothing accepted the connection (ECONNREFUSED)
	FailReset   = "reset"   // the connection closed before a whole response (ECONNRESET, EOF)
	FailTimeout = "timeout" // no whole response within the request timeout
	FailStatus  = "non-2xx" // a response, but not a success
	FailOther   = "other"   // anything else: name resolution, TLS, ...
)

// FailureKinds lists the kinds in the order a panel shows them.
var FailureKinds = []string{FailRefused, FailReset, FailTimeout, FailStatus, FailOther}

// Probe modes: how the probe's clients use their connections.
const (
	// ModeFresh opens a connection per request, so that each lands on whichever worker accepts
	// it: the strict proof that new connections are served throughout.
	ModeFresh = "fresh"
	// ModeKeepAlive keeps one connection per client and reuses it, as browsers and load
	// generators do: the proof of what clients already connected see while workers shut down.
	ModeKeepAlive = "keepalive"
)

// PhaseBefore names the requests sent before the first MarkPhase.
const PhaseBefore = "before"

// ProbeSecond is one second of the probe's history, by the time requests completed.
type ProbeSecond struct {
	At         time.Time
	OK, Failed int
}

// PhaseCounts are the outcomes of the requests sent during one phase of an upgrade (between
// one MarkPhase and the next), the failures by kind. Its JSON is the result's `probe.phases`
// entry.
type PhaseCounts struct {
	Name    string `json:"-"`
	OK      int64  `json:"ok"`
	Refused int64  `json:"refused"`
	Reset   int64  `json:"reset"`
	Timeout int64  `json:"timeout"`
	HTTP5xx int64  `json:"http_5xx"`
	// Other counts the other failures: answers neither 2xx nor 5xx, and errors such as TLS.
	Other int64 `json:"other"`
	// Retried counts the keep-alive requests reset on a reused connection and sent once more on
	// a fresh one, RetriedOK those whose retry succeeded. A retried request still counts as a
	// reset: a client that does not retry would have seen it fail.
	Retried   int64 `json:"retried"`
	RetriedOK int64 `json:"retried_ok"`
}

// Failed is the number of failed requests of the phase.
func (c PhaseCounts) Failed() int64 {
	return c.Refused + c.Reset + c.Timeout + c.HTTP5xx + c.Other
}

// ProbeStats is a copy of what the probe has seen so far.
type ProbeStats struct {
	URL        string
	Mode       string // ModeFresh or ModeKeepAlive
	Started    time.Time
	OK, Failed int64
	// Failures counts failed requests by kind (see FailureKinds).
	Failures map[string]int64
	// Phase is the phase new requests count in (the last MarkPhase, or PhaseBefore); Phases
	// holds every phase's counts in the order they began. They add up to OK and Failed.
	Phase  string
	Phases []PhaseCounts
	// Retried and RetriedOK add up the phases' retries (keep-alive mode only).
	Retried, RetriedOK int64
	// Connections counts the connections the probe opened: one per request in fresh mode, a
	// few plus one per reconnection in keep-alive mode.
	Connections int64
	// P50 and P99 are latencies of the last latencyWindow successful requests.
	P50, P99 time.Duration
	// PerSecond holds the last 60 seconds (fewer right after the start), oldest first,
	// including seconds without a request.
	PerSecond []ProbeSecond
	// ByWorker counts successful responses by the X-Worker-Pid header nginx added to them.
	ByWorker map[int]int64
	// InFlight counts the requests sent and not yet answered.
	InFlight int
	// FirstError and LastError describe the first and the latest failure, as sentences.
	FirstError, LastError string
	// LastErrorWhy is LastError as a code and its arguments, for the dashboard's language.
	LastErrorWhy model.Reason `json:"-"`
	// Stopped says why the probe stopped; empty while it runs.
	Stopped string
}

// PhaseCountsOf returns the counts of the named phase, zero if it never began.
func (s ProbeStats) PhaseCountsOf(name string) PhaseCounts {
	for _, c := range s.Phases {
		if c.Name == name {
			return c
		}
	}
	return PhaseCounts{Name: name}
}
