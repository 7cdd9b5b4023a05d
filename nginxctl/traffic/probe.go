// This file is the probe's request loop and its options. It runs a few lines over the 300-line
// guide since its reasons became structured; the statistics (tally) are already apart.

package traffic

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// Probe sends a bounded, paced stream of requests and keeps the counts an operator needs as
// proof that an upgrade dropped nothing. In fresh mode each request has its own connection, so
// that it lands on whichever nginx worker accepts it; in keep-alive mode each client reuses
// one. The counting is the tally's; the Probe paces, sends and classifies. It implements
// ProbeGate.
type Probe struct {
	opts     ProbeOptions
	newConn  func() sender // one per client
	interval time.Duration
	deadline time.Time
	cancel   context.CancelFunc
	ended    chan struct{}
	opened   atomic.Int64 // connections opened

	mu       sync.Mutex
	t        *tally
	phase    string // the phase requests sent now count in
	issued   int64
	next     time.Time
	stopped  string
	inflight map[uint64]time.Time
	nextID   uint64
	changed  chan struct{} // closed and replaced whenever a request completes or the probe ends
	endedAt  time.Time
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
		interval: time.Duration(float64(time.Second) / o.Rate),
		deadline: now.Add(o.MaxDuration),
		ended:    make(chan struct{}),
		t:        newTally(now),
		next:     now,
		inflight: map[uint64]time.Time{},
		changed:  make(chan struct{}),
	}
	opened := func() { p.opened.Add(1) }
	if o.Mode == ModeKeepAlive {
		p.newConn = func() sender { return newKeepConn(tgt, o.Timeout, opened) }
	} else {
		fresh := freshSender{url: o.URL, client: tgt.client(o.Timeout, opened)}
		p.newConn = func() sender { return fresh }
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

// run is one client: it takes the next free slot of the shared schedule, sends one request,
// and repeats until a bound is reached or the probe is stopped.
func (p *Probe) run(ctx context.Context) {
	conn := p.newConn()
	defer conn.close()
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
		p.one(ctx, conn)
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

// one sends a request and records its outcome. In keep-alive mode a request reset on a reused
// connection is sent once more, on a fresh connection, as a browser would: the reset is still
// counted, and so is whether the retry succeeded.
func (p *Probe) one(ctx context.Context, conn sender) {
	start := time.Now()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.inflight[id] = start
	phase := p.phase
	p.mu.Unlock()

	a := p.attempt(ctx, conn)
	lat := time.Since(start)
	o := outcome{start: start, lat: lat, pid: a.pid, status: a.status, kind: classify(a.err, a.status), phase: phase}
	if o.kind != "" {
		o.why = describeFailure(p.opts.URL, o.kind, a.status, a.err, p.opts.Timeout)
	}
	if o.kind == FailReset && a.reused && ctx.Err() == nil {
		r := p.attempt(ctx, conn)
		o.retried, o.retryOK = true, classify(r.err, r.status) == ""
		if o.retryOK {
			o.why = model.Because("%s; sent again on a fresh connection, it succeeded", o.why)
		}
		a.err = r.err // whether Stop cut the retry short
	}
	if o.kind != "" {
		o.msg = o.why.String()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inflight, id)
	defer p.notify()
	if a.err != nil && ctx.Err() != nil {
		return // cut short by Stop: says nothing about nginx
	}
	p.t.record(o)
}

// attempt sends the request once, within the request timeout.
func (p *Probe) attempt(ctx context.Context, conn sender) attempt {
	rctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	return conn.send(rctx)
}

// notify wakes FailuresSince waiters; p.mu is held.
func (p *Probe) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// MarkPhase starts a phase of the upgrade (by convention usr2, winch, quit, or hup for a
// rollback): requests sent from now on count in it, until the next mark.
func (p *Probe) MarkPhase(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = name
	p.t.phase(name)
}

// Stats returns a consistent copy of the counts.
func (p *Probe) Stats() ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProbeStats{URL: p.opts.URL, Mode: p.opts.Mode, Stopped: p.stopped, InFlight: len(p.inflight),
		Phase: p.phase, Connections: p.opened.Load()}
	if s.Phase == "" {
		s.Phase = PhaseBefore
	}
	end := time.Now()
	if !p.endedAt.IsZero() {
		end = p.endedAt
	}
	p.t.fill(&s, end)
	return s
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
//
// A keep-alive reset whose retry on a fresh connection succeeded does not count here: nginx
// resets such requests whenever a worker shuts down (see KeepaliveRaceNote), and the stats
// report them. Every failure of a fresh connection counts.
func (p *Probe) FailuresSince(t time.Time) error {
	call := time.Now()
	limit := p.opts.Timeout + time.Duration(p.opts.Clients+1)*p.interval
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		p.mu.Lock()
		counts, n, _ := p.t.failuresSince(t)
		pending := 0
		for _, s := range p.inflight {
			if !s.Before(t) && s.Before(call) {
				pending++
			}
		}
		evidence := !p.t.lastOK.Before(t)
		stopped, ended := p.stopped, !p.endedAt.IsZero()
		last := p.t.lastErr
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
