package inspect

import (
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"
)

// LogTail follows an error log: each Read returns the lines appended since the last one. A log
// that shrank (rotated or truncated) is read again from its start.
type LogTail struct {
	Path    string
	offset  int64
	partial []byte
	// dev and ino name the file read last: a Read that finds the same file no longer than what
	// was read returns at once, with one stat and no open (a dashboard reads four times a
	// second a log that rarely moves). Another file at the path (rotated) is read afresh.
	dev, ino uint64
}

// tailWindow bounds how much of a large log the first read looks at.
const tailWindow = 64 << 10

// NewLogTail starts following path at its end, keeping the last few lines already there.
func NewLogTail(path string) *LogTail { return &LogTail{Path: path, offset: -1} }

// Read returns the complete lines appended since the previous Read (at first, the last
// lines of the file, at most tailWindow bytes of them).
func (t *LogTail) Read() ([]string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(t.Path, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: t.Path, Err: err}
	}
	switch {
	case t.ino == 0:
	case st.Dev != t.dev || st.Ino != t.ino:
		t.offset = -1 // another file: read it as a new one
	case st.Size == t.offset:
		return nil, nil
	}
	f, err := os.Open(t.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fst, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fst.Size()
	if sys, ok := fst.Sys().(*syscall.Stat_t); ok {
		t.dev, t.ino = sys.Dev, sys.Ino
	}
	skipFirst := false
	if t.offset < 0 || size < t.offset {
		t.offset = max(0, size-tailWindow)
		t.partial = nil
		// The window may start mid-line: begin one byte early and drop up to the first newline,
		// which is then the rest of a cut line, or nothing when the window starts a line.
		if t.offset > 0 {
			t.offset--
			skipFirst = true
		}
	}
	if size == t.offset {
		return nil, nil
	}
	buf := make([]byte, min(size-t.offset, 4*tailWindow))
	n, err := f.ReadAt(buf, t.offset)
	if err != nil && err != io.EOF {
		return nil, err
	}
	t.offset += int64(n)
	data := append(t.partial, buf[:n]...)
	last := bytes.LastIndexByte(data, '\n')
	if last < 0 {
		t.partial = data
		return nil, nil
	}
	t.partial = append([]byte(nil), data[last+1:]...)
	lines := strings.Split(string(data[:last]), "\n")
	if skipFirst {
		lines = lines[1:]
	}
	return lines, nil
}

// TailFile returns the last n lines of a file joined by " | ", for error messages.
func TailFile(path string, n int) string {
	t := NewLogTail(path)
	lines, err := t.Read()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Severity is the level of an error-log line, for highlighting.
type Severity int

const (
	SevInfo Severity = iota
	SevWarn
	SevError
	SevCritical // [crit], [alert], [emerg]
)

// LineSeverity reads the [level] of an nginx error-log line.
func LineSeverity(line string) Severity {
	switch {
	case strings.Contains(line, "[emerg]"), strings.Contains(line, "[alert]"), strings.Contains(line, "[crit]"):
		return SevCritical
	case strings.Contains(line, "[error]"):
		return SevError
	case strings.Contains(line, "[warn]"):
		return SevWarn
	}
	return SevInfo
}
