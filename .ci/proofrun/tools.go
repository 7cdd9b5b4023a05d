package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// row is one client's figures for a run, in its own terms and in the probe's kinds.
type row struct {
	client   string
	requests int64 // requests completed (ok or failed)
	ok       int64
	errors   int64
	kinds    string // errors by kind, as the tool names them
	err      error  // the tool could not run or its output was not understood
}

// load is a load generator running in the background, ended by its bound or by its pid.
type load struct {
	name  string
	cmd   *exec.Cmd
	out   bytes.Buffer
	done  chan struct{}
	parse func(string) row
}

// startLoad starts a bounded load generator. The context ends it (by its pid) if its own bound
// did not.
func startLoad(ctx context.Context, name string, parse func(string) row, argv ...string) (*load, error) {
	l := &load{name: name, done: make(chan struct{}), parse: parse}
	l.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	l.cmd.Stdout, l.cmd.Stderr = &l.out, &l.out
	l.cmd.WaitDelay = 2 * time.Second
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	go func() {
		_ = l.cmd.Wait()
		close(l.done)
	}()
	return l, nil
}

// wait waits for the generator to end and reads its figures.
func (l *load) wait() row {
	<-l.done
	r := l.parse(l.out.String())
	r.client = l.name
	if r.err == nil && l.cmd.ProcessState != nil && !l.cmd.ProcessState.Success() {
		r.err = fmt.Errorf("%s: %s", l.cmd.ProcessState, lastLines(l.out.String(), 3))
	}
	return r
}

var (
	wrkTotal  = regexp.MustCompile(`(\d+) requests in `)
	wrkErrors = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's summary. wrk counts a request it completed in "requests"; socket errors
// (connect, read, write, timeout) are counted apart, and non-2xx/3xx answers among requests.
func parseWrk(out string) row {
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return row{err: fmt.Errorf("no request count in wrk's output: %s", lastLines(out, 3))}
	}
	total := atoi(m[1])
	var connect, read, write, timeout, non2xx int64
	if e := wrkErrors.FindStringSubmatch(out); e != nil {
		connect, read, write, timeout = atoi(e[1]), atoi(e[2]), atoi(e[3]), atoi(e[4])
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		non2xx = atoi(e[1])
	}
	errs := connect + read + write + timeout + non2xx
	return row{requests: total + connect + read + write, ok: total - non2xx, errors: errs,
		kinds: fmt.Sprintf("connect %d, read %d, write %d, timeout %d, non-2xx %d", connect, read, write, timeout, non2xx)}
}

var (
	h2Requests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// parseH2load reads h2load's summary: "done" requests ended, "succeeded" got a 2xx/3xx answer,
// "failed" did not (errored: the stream or connection broke, timeout: no answer in time).
func parseH2load(out string) row {
	m := h2Requests.FindStringSubmatch(out)
	if m == nil {
		return row{err: fmt.Errorf("no request counts in h2load's output: %s", lastLines(out, 3))}
	}
	done, succeeded, failed, errored, timeout := atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
	var s5xx int64
	if s := h2Status.FindStringSubmatch(out); s != nil {
		s5xx = atoi(s[4])
	}
	return row{requests: done, ok: succeeded, errors: done - succeeded,
		kinds: fmt.Sprintf("failed %d (errored %d, timeout %d), 5xx %d", failed, errored, timeout, s5xx)}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
