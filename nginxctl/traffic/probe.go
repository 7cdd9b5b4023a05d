package traffic

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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

// ProbeOptions shape a traffic probe. Zero values take the defaults.
type ProbeOptions struct {
	URL         string
	Clients     int           // concurrent clients; default 4
	Rate        float64       // requests per second, all clients together; default 20
	Timeout     time.Duration // per request; default 2s
	MaxDuration time.Duration // the probe stops by itself after this; default 1h
	MaxRequests int64         // ... or after this many requests; default 500000
	// LoopbackOnly refuses a URL whose host is not on 127.0.0.0/8 or ::1 (demo mode), and pins
	// the connections to the loopback address it resolved to.
	LoopbackOnly bool
}

// ProbeSecond is one second of the probe's history, by the time requests completed.
type ProbeSecond struct {
	At         time.Time
	OK, Failed int
}

// ProbeStats is a copy of what the probe has seen so far.
type ProbeStats struct {
	URL        string
	Started    time.Time
	OK, Failed int64
	// Failures counts failed requests by kind (see FailureKinds).
	Failures map[string]int64
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
	// Stopped says why the probe stopped; empty while it runs.
	Stopped string
}

// Probe sends a bounded stream of requests, each on a fresh connection so that it lands on
// whichever nginx worker accepts it, and keeps the counts an operator needs as proof that an
// upgrade dropped nothing. It implements ProbeGate.
type Probe struct {
	opts     ProbeOptions
	client   *http.Client
	interval time.Duration
	deadline time.Time
	cancel   context.CancelFunc
	ended    chan struct{}

	mu         sync.Mutex
	started    time.Time
	issued     int64
	next       time.Time
	ok, failed int64
	failures   map[string]int64
	byWorker   map[int]int64
	firstErr   string
	lastErr    string
	stopped    string
	lat        [latencyWindow]time.Duration
	latN       int
	latPos     int
	p50, p99   time.Duration
	latDirty   bool
	secs       [60]probeBucket
	failLog    []failRecord
	dropped    time.Time // start of the latest failure dropped from failLog
	lastOK     time.Time // start of the latest successful request
	inflight   map[uint64]time.Time
	nextID     uint64
	changed    chan struct{} // closed and replaced whenever a request completes or the probe ends
	endedAt    time.Time
}

const (
	latencyWindow = 1024
	failLogMax    = 4096
	byWorkerMax   = 256
	maxProbeBody  = 1 << 20
	probeHeader   = "X-Worker-Pid"
	// notItemised stands for failures beyond failLogMax whose kinds were not kept.
	notItemised = "more, not itemised"
)

type probeBucket struct {
	sec        int64
	ok, failed int
}

type failRecord struct {
	start time.Time
	kind  string
}

// StartProbe validates the options and starts the clients. An unreachable URL is not an error
// here: it shows as failures, with the first one described in FirstError.
func StartProbe(ctx context.Context, o ProbeOptions) (*Probe, error) {
	if err := probeDefaults(&o); err != nil {
		return nil, err
	}
	tgt, err := resolveTarget(ctx, o.URL, o.LoopbackOnly, "probe")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p := &Probe{
		opts:     o,
		client:   tgt.client(o.Timeout),
		interval: time.Duration(float64(time.Second) / o.Rate),
		deadline: now.Add(o.MaxDuration),
		ended:    make(chan struct{}),
		started:  now,
		next:     now,
		failures: map[string]int64{},
		byWorker: map[int]int64{},
		inflight: map[uint64]time.Time{},
		changed:  make(chan struct{}),
	}
	cctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	var wg sync.WaitGroup
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(cctx)
		}()
	}
	go func() {
		wg.Wait()
		cancel()
		p.mu.Lock()
		p.endedAt = time.Now()
		if p.stopped == "" {
			p.stopped = "stopped"
		}
		p.notify()
		p.mu.Unlock()
		close(p.ended)
	}()
	return p, nil
}

func probeDefaults(o *ProbeOptions) error {
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Rate == 0 {
		o.Rate = 20
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = time.Hour
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = 500000
	}
	switch {
	case o.Clients < 0 || o.Clients > 64:
		return fmt.Errorf("probe: %d clients: use 1 to 64", o.Clients)
	case math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > 1000:
		return fmt.Errorf("probe: rate %v requests per second: use more than 0 and at most 1000", o.Rate)
	case o.Timeout < 0 || o.Timeout > time.Minute:
		return fmt.Errorf("probe: request timeout %s: use more than 0 and at most 1m", o.Timeout)
	case o.MaxDuration < 0 || o.MaxDuration > 24*time.Hour:
		return fmt.Errorf("probe: maximum duration %s: use more than 0 and at most 24h", o.MaxDuration)
	case o.MaxRequests < 0:
		return fmt.Errorf("probe: maximum of %d requests: use more than 0", o.MaxRequests)
	}
	return nil
}

// run is one client: it takes the next free slot of the shared schedule, sends one request,
// and repeats until a bound is reached or the probe is stopped.
func (p *Probe) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		slot, ok := p.reserve(ctx)
		if !ok {
			return
		}
		if wait := time.Until(slot); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				p.setStopped(ctx)
				return
			case <-timer.C:
			}
		}
		p.one(ctx)
	}
}

// reserve books the next request slot, or says the probe is over.
func (p *Probe) reserve(ctx context.Context) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	switch {
	case ctx.Err() != nil:
		p.setStoppedLocked(ctx)
		return slot, false
	case p.stopped != "":
		return slot, false
	case p.issued >= p.opts.MaxRequests:
		p.stopped = fmt.Sprintf("sent its maximum of %d requests", p.opts.MaxRequests)
		return slot, false
	case !slot.Before(p.deadline):
		p.stopped = fmt.Sprintf("ran for its maximum of %s", p.opts.MaxDuration)
		return slot, false
	}
	p.issued++
	p.next = slot.Add(p.interval)
	return slot, true
}

func (p *Probe) setStopped(ctx context.Context) {
	p.mu.Lock()
	p.setStoppedLocked(ctx)
	p.mu.Unlock()
}

// setStoppedLocked gives the reason when the context ended: Stop has set its own before it
// cancels, so this is the caller's context.
func (p *Probe) setStoppedLocked(ctx context.Context) {
	if p.stopped == "" {
		p.stopped = "its context ended: " + context.Cause(ctx).Error()
	}
}

// one sends a request and records its outcome.
func (p *Probe) one(ctx context.Context) {
	start := time.Now()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.inflight[id] = start
	p.mu.Unlock()

	rctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	pid, status, err := p.get(rctx)
	lat := time.Since(start)

	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inflight, id)
	defer p.notify()
	if err != nil && ctx.Err() != nil {
		return // cut short by Stop: says nothing about nginx
	}
	p.recordLocked(start, lat, pid, status, err)
}

// recordLocked counts one completed request; p.mu is held.
func (p *Probe) recordLocked(start time.Time, lat time.Duration, pid, status int, err error) {
	kind := classify(err, status)
	p.bucket(start.Add(lat), kind == "")
	if kind == "" {
		p.ok++
		if start.After(p.lastOK) {
			p.lastOK = start
		}
		p.lat[p.latPos] = lat
		p.latPos = (p.latPos + 1) % latencyWindow
		p.latN = min(p.latN+1, latencyWindow)
		p.latDirty = true
		if pid > 0 {
			if _, ok := p.byWorker[pid]; ok || len(p.byWorker) < byWorkerMax {
				p.byWorker[pid]++
			}
		}
		return
	}
	p.failed++
	p.failures[kind]++
	p.lastErr = describeFailure(p.opts.URL, kind, status, err, p.opts.Timeout)
	if p.firstErr == "" {
		p.firstErr = p.lastErr
	}
	if len(p.failLog) == failLogMax {
		// Drop the oldest quarter, remembering the latest start among them.
		for _, f := range p.failLog[:failLogMax/4] {
			if f.start.After(p.dropped) {
				p.dropped = f.start
			}
		}
		p.failLog = slices.Delete(p.failLog, 0, failLogMax/4)
	}
	p.failLog = append(p.failLog, failRecord{start: start, kind: kind})
}

// get performs the request and reads the body (up to maxProbeBody).
func (p *Probe) get(ctx context.Context) (pid, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.opts.URL, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("User-Agent", "hotdeploy-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	pid, _ = strconv.Atoi(resp.Header.Get(probeHeader))
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	return pid, resp.StatusCode, err
}

// bucket counts a completed request in the second it completed.
func (p *Probe) bucket(at time.Time, ok bool) {
	sec := at.Unix()
	b := &p.secs[sec%int64(len(p.secs))]
	if b.sec != sec {
		*b = probeBucket{sec: sec}
	}
	if ok {
		b.ok++
	} else {
		b.failed++
	}
}

// notify wakes FailuresSince waiters; p.mu is held.
func (p *Probe) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Stats returns a consistent copy of the counts.
func (p *Probe) Stats() ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProbeStats{
		URL: p.opts.URL, Started: p.started, OK: p.ok, Failed: p.failed,
		Failures:   make(map[string]int64, len(p.failures)),
		ByWorker:   make(map[int]int64, len(p.byWorker)),
		FirstError: p.firstErr, LastError: p.lastErr, Stopped: p.stopped, InFlight: len(p.inflight),
	}
	for k, v := range p.failures {
		s.Failures[k] = v
	}
	for k, v := range p.byWorker {
		s.ByWorker[k] = v
	}
	if p.latDirty {
		p.p50, p.p99 = percentiles(p.lat[:p.latN])
		p.latDirty = false
	}
	s.P50, s.P99 = p.p50, p.p99
	end := time.Now()
	if !p.endedAt.IsZero() {
		end = p.endedAt
	}
	last, first := end.Unix(), max(p.started.Unix(), end.Unix()-int64(len(p.secs))+1)
	s.PerSecond = make([]ProbeSecond, 0, last-first+1)
	for sec := first; sec <= last; sec++ {
		e := ProbeSecond{At: time.Unix(sec, 0)}
		if b := p.secs[sec%int64(len(p.secs))]; b.sec == sec {
			e.OK, e.Failed = b.ok, b.failed
		}
		s.PerSecond = append(s.PerSecond, e)
	}
	return s
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(math.Ceil(q*float64(len(s))))-1] }
	return at(0.50), at(0.99)
}

// Stop ends the probe and waits for its clients; requests cut short are not counted. It may be
// called more than once.
func (p *Probe) Stop() {
	p.mu.Lock()
	if p.stopped == "" {
		p.stopped = "stopped"
	}
	p.mu.Unlock()
	p.cancel()
	<-p.ended
}

// Done tells whether the probe has ended: by itself at one of its bounds, because its context
// ended, or after Stop. Stats().Stopped says which.
func (p *Probe) Done() bool {
	select {
	case <-p.ended:
		return true
	default:
		return false
	}
}

// Ended is closed once the probe has ended.
func (p *Probe) Ended() <-chan struct{} { return p.ended }

// FailuresSince returns an error naming the failures, by kind, of the requests that started at
// or after t. So that "no failure" is evidence rather than silence, it first waits, at most one
// request timeout plus one round of the schedule, until the requests started since t and still
// in flight have completed and at least one request started since t has succeeded; it returns
// an error if that does not happen.
func (p *Probe) FailuresSince(t time.Time) error {
	call := time.Now()
	limit := p.opts.Timeout + time.Duration(p.opts.Clients+1)*p.interval
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		p.mu.Lock()
		counts, n := p.failuresSinceLocked(t)
		pending := 0
		for _, s := range p.inflight {
			if !s.Before(t) && s.Before(call) {
				pending++
			}
		}
		evidence := !p.lastOK.Before(t)
		stopped, ended := p.stopped, !p.endedAt.IsZero()
		last := p.lastErr
		changed := p.changed
		p.mu.Unlock()
		switch {
		case n > 0:
			return fmt.Errorf("probe: %s since %s; last: %s", failureSummary(counts, n), t.Format("15:04:05.000"), last)
		case pending == 0 && evidence:
			return nil
		case ended && pending == 0:
			return fmt.Errorf("probe: it %s before any request started since %s succeeded: no proof the new workers serve", stopped, t.Format("15:04:05.000"))
		}
		select {
		case <-changed:
		case <-timer.C:
			if pending > 0 {
				return fmt.Errorf("probe: %d requests started since %s are still without an answer after %s", pending, t.Format("15:04:05.000"), limit)
			}
			return fmt.Errorf("probe: no request started since %s succeeded within %s: no proof the new workers serve", t.Format("15:04:05.000"), limit)
		}
	}
}

// failuresSinceLocked counts the recorded failures of requests started at or after t.
func (p *Probe) failuresSinceLocked(t time.Time) (map[string]int64, int64) {
	counts := map[string]int64{}
	var n int64
	for i := len(p.failLog) - 1; i >= 0; i-- {
		if f := p.failLog[i]; !f.start.Before(t) {
			counts[f.kind]++
			n++
		}
	}
	if !p.dropped.IsZero() && !p.dropped.Before(t) {
		counts[notItemised]++
		n++
	}
	return counts, n
}

func failureSummary(counts map[string]int64, n int64) string {
	var parts []string
	for _, k := range append(slices.Clone(FailureKinds), notItemised) {
		if c := counts[k]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, k))
		}
	}
	word := "requests"
	if n == 1 {
		word = "request"
	}
	return fmt.Sprintf("%d %s failed (%s)", n, word, strings.Join(parts, ", "))
}
