package traffic

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Past failLogMax failures the oldest are dropped, but FailuresSince still reports failures
// since any time, itemised where kept.
func TestProbeFailureLogOverflow(t *testing.T) {
	p := tallyProbe(ProbeOptions{URL: "http://127.0.0.1:1/", Timeout: time.Second})
	t0 := time.Now().Add(-time.Hour)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	const n = failLogMax + failLogMax/2
	for i := 0; i < n; i++ {
		p.recordLocked(at(i), time.Millisecond, 0, 0, syscall.ECONNREFUSED)
	}
	if len(p.t.failLog) > failLogMax || p.t.failed != n || p.t.failures[FailRefused] != n {
		t.Fatalf("kept %d records, counted %d (%v)", len(p.t.failLog), p.t.failed, p.t.failures)
	}
	// Since the last 10: exactly those, itemised.
	err := p.FailuresSince(at(n - 10))
	if err == nil || !strings.Contains(err.Error(), "10 requests failed (10 refused)") {
		t.Errorf("last 10: %v", err)
	}
	// Since the start: dropped ones are said to exist.
	err = p.FailuresSince(at(0))
	if err == nil || !strings.Contains(err.Error(), notItemised) {
		t.Errorf("since the first failure: %v", err)
	}
	// A success after them is still no excuse for them.
	p.recordLocked(at(n), time.Millisecond, 101, 200, nil)
	if err := p.FailuresSince(at(n - 1)); err == nil {
		t.Error("a failure followed by a success must still be reported")
	}
	if err := p.FailuresSince(at(n)); err != nil {
		t.Errorf("only a success since: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		want   string
	}{
		{nil, 200, ""}, {nil, 204, ""}, {nil, 301, FailStatus}, {nil, 503, FailStatus},
		{syscall.ECONNREFUSED, 0, FailRefused},
		{syscall.ECONNRESET, 0, FailReset}, {syscall.EPIPE, 0, FailReset},
		{errors.Join(errors.New("read"), io.ErrUnexpectedEOF), 0, FailReset},
		{context.DeadlineExceeded, 0, FailTimeout},
		{errors.New("tls: handshake failure"), 0, FailOther},
	} {
		if got := classify(c.err, c.status); got != c.want {
			t.Errorf("classify(%v, %d) = %q, want %q", c.err, c.status, got, c.want)
		}
	}
}
