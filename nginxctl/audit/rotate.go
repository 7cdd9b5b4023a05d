package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// hotdeploy does not rotate its log; logrotate does (move, then "create" a new empty file, and
// maybe compress the old one). These helpers find the file a log continues.

var (
	numbered = regexp.MustCompile(`^(.*)\.([0-9]+)(\.gz)?$`)     // audit.log.1, audit.log.2.gz
	dated    = regexp.MustCompile(`^(.*)-([0-9]{8,10})(\.gz)?$`) // audit.log-20250101 (dateext)
)

// splitRotated returns the live log's path and the rotation number (1 for audit.log.1,
// 0 for the live log itself, -1 for a dateext file).
func splitRotated(path string) (string, int) {
	if m := numbered.FindStringSubmatch(path); m != nil {
		n, _ := strconv.Atoi(m[2])
		return m[1], n
	}
	if m := dated.FindStringSubmatch(path); m != nil {
		return m[1], -1
	}
	return path, 0
}

// openLog opens a log, decompressing a rotated .gz one.
func openLog(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return f, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// predecessorCandidates lists, nearest first, the files the log at path may continue:
// the next numbered rotation (plain or .gz), then dateext files older than it.
func predecessorCandidates(path string) []string {
	base, n := splitRotated(path)
	var out []string
	if n >= 0 {
		for i := n + 1; i <= n+9; i++ {
			s := base + "." + strconv.Itoa(i)
			out = append(out, s, s+".gz")
		}
	}
	dates, _ := filepath.Glob(base + "-*")
	sort.Sort(sort.Reverse(sort.StringSlice(dates)))
	for _, d := range dates {
		if dated.MatchString(d) && (n >= 0 || strings.TrimSuffix(d, ".gz") < strings.TrimSuffix(path, ".gz")) {
			out = append(out, d)
		}
	}
	return out
}

// findPredecessor is the nearest rotated file with any lines (logrotate's default "ifempty"
// may have rotated an empty file in between) and its last line; "" when none is there.
func findPredecessor(path string) (string, []byte, error) {
	for _, c := range predecessorCandidates(path) {
		last, err := lastLineOf(c)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if last != nil {
			return c, last, nil
		}
	}
	return "", nil, nil
}

// lastLineOf reads a whole (possibly compressed) file for its last line: rotated files are
// read once, by Verify, so simplicity wins over seeking.
func lastLineOf(path string) ([]byte, error) {
	rd, err := openLog(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var last []byte
	br := bufio.NewReaderSize(rd, 64*1024)
	for {
		raw, err := br.ReadBytes('\n')
		if line := bytes.TrimSuffix(raw, []byte{'\n'}); len(line) > 0 {
			last = append(last[:0], line...)
		}
		if err == io.EOF {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkPredecessor judges line 1: a fresh chain starts at seq 1; a continued one must follow
// the last line of the rotated file before it, when that file is still there.
func checkPredecessor(r *Report, path string, first chainFields) {
	if first.Prev == Genesis {
		if first.Seq != 1 {
			r.broken(1, "line 1 starts the chain but has seq %d, not 1: it was changed", first.Seq)
		}
		return
	}
	pred, last, err := findPredecessor(path)
	switch {
	case err != nil:
		r.note(1, "line 1 continues another file, which cannot be read: %v", err)
	case pred != "" && hashLine(last) == first.Prev:
		c, _ := peekChain(last)
		if c.Seq+1 != first.Seq {
			r.broken(1, "line 1 has seq %d but %s ends with seq %d: line 1 was changed", first.Seq, pred, c.Seq)
			return
		}
		r.note(1, "line 1 continues %s (its last line, seq %d)", pred, c.Seq)
	case pred != "":
		r.broken(1, "line 1 continues a line that is not the last of %s: the last lines of %s were removed or changed (verify it too)", pred, pred)
	case first.RotatedFrom != "":
		r.note(1, "line 1 continues a rotated log whose last line hashes to %s; the predecessor is not there to check", short(first.Prev))
	default:
		r.broken(1, "line 1 continues a chain (prev %s) but no earlier file holds it: the lines before it were cut away (truncated in place)", short(first.Prev))
	}
}
