package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// step is what one hotdeploy command said.
type step struct {
	argv    []string
	result  string
	code    int
	ms      int64
	errText string
	gate    string // its own probe's summary line, from stderr
	signals []string
}

// runOnce puts the sandbox under load, runs the hotdeploy commands one after the other while
// marking the probes' phases from their signal events, and prints every client's figures. It
// tells whether every command exited 0.
func runOnce(ctx context.Context, c config, sb *sandbox.Sandbox, h2URL, version, title string, cmds [][]string) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, c.duration+90*time.Second)
	defer cancel()
	fresh, err := traffic.StartProbe(rctx, probeOptions(sb.URL, traffic.ModeFresh, c))
	if err != nil {
		return false, err
	}
	defer fresh.Stop()
	keep, err := traffic.StartProbe(rctx, probeOptions(sb.URL, traffic.ModeKeepAlive, c))
	if err != nil {
		return false, err
	}
	defer keep.Stop()
	secs := strconv.Itoa(int(c.duration.Round(time.Second) / time.Second))
	wrk, err := startLoad(rctx, fmt.Sprintf("wrk -c%d (HTTP/1.1 keep-alive)", c.conns), parseWrk,
		"wrk", "-t2", fmt.Sprintf("-c%d", c.conns), "-d"+secs+"s", "--timeout", "2s", sb.URL)
	if err != nil {
		return false, err
	}
	h2, err := startLoad(rctx, "h2load -c10 -m10 (HTTP/2)", parseH2load, "h2load", "-c10", "-m10", "-D", secs, h2URL)
	if err != nil {
		cancel()
		wrk.wait()
		return false, err
	}
	start := time.Now()
	select { // let every client reach its pace before the first signal
	case <-time.After(time.Second):
	case <-rctx.Done():
	}
	mark := func(phase string) {
		fresh.MarkPhase(phase)
		keep.MarkPhase(phase)
	}
	var steps []step
	for _, argv := range cmds {
		steps = append(steps, hotdeploy(rctx, c.bin, argv, start, mark))
	}
	rows := []row{wrk.wait(), h2.wait()}
	fresh.Stop()
	keep.Stop()
	fs, ks := fresh.Stats(), keep.Stats()
	rows = append(rows, probeRow("hotdeploy probe, fresh", fs), probeRow("hotdeploy probe, keep-alive", ks))

	fmt.Printf("\n== %s\n", title)
	allOK := true
	for _, s := range steps {
		fmt.Printf("   hotdeploy %s: %s, exit %d, %d ms; signals %s\n", s.argv[0], s.result, s.code, s.ms, strings.Join(s.signals, ", "))
		if s.errText != "" {
			fmt.Printf("     error: %s\n", s.errText)
		}
		if s.gate != "" {
			fmt.Printf("     its --probe gate (fresh connections): %s\n", s.gate)
		}
		allOK = allOK && s.code == 0
	}
	fmt.Printf("   %-34s %9s %9s %7s  %s\n", "client", "requests", "ok", "errors", "errors by kind")
	for _, r := range rows {
		if r.err != nil {
			fmt.Printf("   %-34s did not report: %v\n", r.client, r.err)
			continue
		}
		fmt.Printf("   %-34s %9d %9d %7d  %s\n", r.client, r.requests, r.ok, r.errors, r.kinds)
	}
	fmt.Printf("   probe phases (ok/failed by the time each request was sent):\n")
	fmt.Printf("     fresh:      %s\n", phases(fs))
	fmt.Printf("     keep-alive: %s\n", phases(ks))
	rep := traffic.NewProbeReport(ks, version)
	if rep.Note == "" && (rows[0].errors > 0 || rows[1].errors > 0) {
		rep.Note = traffic.KeepaliveRaceNote(version)
	}
	if rep.Note != "" {
		fmt.Printf("   note: %s\n", rep.Note)
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("   keep-alive probe as the result's probe object: %s\n", b)
	return allOK, nil
}

// hotdeploy runs one headless command, reading its JSON lines as they come so that the probes
// enter a phase when the signal that starts it is sent.
func hotdeploy(ctx context.Context, bin string, argv []string, t0 time.Time, mark func(string)) step {
	s := step{argv: argv, code: -1}
	cmd := exec.CommandContext(ctx, bin, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.errText = err.Error()
		return s
	}
	if err := cmd.Start(); err != nil {
		s.errText = err.Error()
		return s
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev["event"] == "signal" {
			sig, _ := ev["signal"].(string)
			pid, _ := ev["pid"].(float64)
			mark(strings.ToLower(strings.TrimPrefix(sig, "SIG")))
			s.signals = append(s.signals, fmt.Sprintf("%s to %d at +%.2fs", strings.TrimPrefix(sig, "SIG"), int(pid), time.Since(t0).Seconds()))
		}
		if r, ok := ev["result"].(string); ok {
			s.result = r
			if ms, ok := ev["elapsed_ms"].(float64); ok {
				s.ms = int64(ms)
			}
			if e, ok := ev["error"].(string); ok {
				s.errText = e
			}
		}
	}
	_ = cmd.Wait()
	if cmd.ProcessState != nil {
		s.code = cmd.ProcessState.ExitCode()
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if g, ok := strings.CutPrefix(l, "hotdeploy: probe "); ok {
			s.gate = "probe " + g
		} else if strings.TrimSpace(l) != "" && s.errText == "" {
			s.errText = strings.TrimSpace(l)
		}
	}
	return s
}

func probeRow(name string, s traffic.ProbeStats) row {
	k := func(kind string) int64 { return s.Failures[kind] }
	var s5xx, other int64
	for _, c := range s.Phases {
		s5xx += c.HTTP5xx
		other += c.Other
	}
	kinds := fmt.Sprintf("refused %d, reset %d, timeout %d, 5xx %d, other %d",
		k(traffic.FailRefused), k(traffic.FailReset), k(traffic.FailTimeout), s5xx, other)
	if s.Mode == traffic.ModeKeepAlive {
		kinds += fmt.Sprintf("; retried %d, %d ok; %d connections", s.Retried, s.RetriedOK, s.Connections)
	}
	return row{client: name, requests: s.OK + s.Failed, ok: s.OK, errors: s.Failed, kinds: kinds}
}

func phases(s traffic.ProbeStats) string {
	var parts []string
	for _, c := range s.Phases {
		p := fmt.Sprintf("%s %d/%d", c.Name, c.OK, c.Failed())
		if c.Retried > 0 {
			p += fmt.Sprintf(" (retried %d, %d ok)", c.Retried, c.RetriedOK)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
