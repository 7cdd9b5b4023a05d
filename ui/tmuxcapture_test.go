package ui

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// capture reads the screen once it holds still: the same text twice, captureGap apart (up to
// captureTries reads; the last one otherwise).
//
// tmux applies what the dashboard writes as it reads it from the terminal, 4 KB at a time, and
// answers capture-pane between two reads: a frame redrawn whole (after a panel grows by a row,
// every row below moves) can be read half old, half new. Measured with a 120x40 frame redrawn
// every 10 ms: 3 of 400 captures were torn, with synchronized output (mode 2026) as well, which
// tmux 3.3 does not apply to capture-pane. One such capture once read a probe panel whose first
// row was not yet drawn and failed a test. A frame is written in one write, so a torn state
// lasts until tmux's next read, well under captureGap.
func (s *tmuxSession) capture() string {
	last := s.captureOnce()
	for i := 1; i < captureTries; i++ {
		time.Sleep(captureGap)
		now := s.captureOnce()
		if now == last {
			return now
		}
		last = now
	}
	return last
}

const (
	captureGap   = 25 * time.Millisecond
	captureTries = 20
)

func (s *tmuxSession) captureOnce() string {
	out, err := s.run("capture-pane", "-p", "-t", s.name)
	if err != nil {
		return "(capture-pane failed: " + err.Error() + ": " + out + ")"
	}
	return out
}

// paintHelperEnv makes the test binary run paintHelper instead of its tests.
const paintHelperEnv = "HOTDEPLOY_TEST_PAINTER"

const (
	helperWidth, helperHeight = 120, 40
	helperFrames              = 80
	helperEvery               = 80 * time.Millisecond
)

// paintHelper draws frames through the painter on standard output: each has its number on every
// row, and every other one is moved down a row, as the dashboard's panels move when a row above
// them comes or goes. Every row changes from one frame to the next, so each frame is written
// whole (about 5 KB), more than tmux reads at once.
func paintHelper() {
	p := &painter{out: os.Stdout}
	p.resize(helperWidth, helperHeight)
	for n := 0; n < helperFrames; n++ {
		rows := make([]string, helperHeight)
		for i := range rows {
			rows[i] = fmt.Sprintf("frame %04d row %02d ", n, i-n%2)
			rows[i] += strings.Repeat("=", helperWidth-1-len(rows[i]))
		}
		p.paint(strings.Join(rows, "\n"))
		time.Sleep(helperEvery)
	}
}

var helperRow = regexp.MustCompile(`^frame (\d{4}) row (-?\d+) `)

// wholeFrame tells whether screen is one of paintHelper's frames, every row from the same one.
func wholeFrame(screen string) bool {
	rows := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(rows) != helperHeight {
		return false
	}
	frame := ""
	for i, r := range rows {
		m := helperRow.FindStringSubmatch(r)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		row, _ := strconv.Atoi(m[2])
		if frame == "" {
			frame = m[1]
		}
		if m[1] != frame || row != i-n%2 {
			return false
		}
	}
	return true
}

// TestCaptureReadsWholeFrames: the rig's capture returns the screen a frame drew, never one read
// while tmux was half-way through a frame (see capture). Single reads taken alongside are counted
// and logged: how often one would have been torn here.
func TestCaptureReadsWholeFrames(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, helperWidth, helperHeight, "env", paintHelperEnv+"=1", self)
	s.waitFor("the helper's first frame", screenWait, wholeFrame)
	captures, single, torn := 0, 0, 0
	for end := time.Now().Add(helperFrames * helperEvery * 3 / 4); time.Now().Before(end); {
		if screen := s.capture(); !wholeFrame(screen) {
			t.Fatalf("capture returned a screen no frame drew:\n%s", screen)
		}
		captures++
		for i := 0; i < 5; i++ {
			single++
			if !wholeFrame(s.captureOnce()) {
				torn++
			}
		}
	}
	t.Logf("%d captures, all whole; %d of %d single reads alongside were torn", captures, torn, single)
}
