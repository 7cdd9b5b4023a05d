package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Finding is one thing Verify found. A Broken finding fails verification; the others are notes
// (a predecessor not there to check, lines older than the chain).
type Finding struct {
	Line   int    `json:"line,omitempty"` // 1-based line of the file; 0 for the file as a whole
	Broken bool   `json:"broken"`
	Text   string `json:"text"`
}

// Report is what Verify found in one log file.
type Report struct {
	Path     string    `json:"path"`
	Lines    int       `json:"lines"`
	FirstSeq uint64    `json:"first_seq,omitempty"`
	LastSeq  uint64    `json:"last_seq,omitempty"`
	Findings []Finding `json:"findings"`
}

// Intact is true when nothing broken was found.
func (r Report) Intact() bool {
	_, broken := r.FirstBroken()
	return !broken
}

// FirstBroken is the first broken finding: the first changed or missing line.
func (r Report) FirstBroken() (Finding, bool) {
	for _, f := range r.Findings {
		if f.Broken {
			return f, true
		}
	}
	return Finding{}, false
}

func (r *Report) broken(line int, format string, a ...any) {
	r.Findings = append(r.Findings, Finding{Line: line, Broken: true, Text: fmt.Sprintf(format, a...)})
}

func (r *Report) note(line int, format string, a ...any) {
	r.Findings = append(r.Findings, Finding{Line: line, Text: fmt.Sprintf(format, a...)})
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Verify checks the hash chain of the log at path, its first line against the rotated file it
// continues, and its end against the head file. The error is for a log that cannot be read
// (exit 2); a log that reads but does not check out is a Report that is not Intact (exit 1).
func Verify(path string) (Report, error) {
	r := Report{Path: path, Findings: []Finding{}}
	rd, err := openLog(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, verifyEmpty(&r, nil)
	}
	if err != nil {
		return r, fmt.Errorf("audit log %s cannot be read: %w", path, err)
	}
	defer rd.Close()
	var (
		br                = bufio.NewReaderSize(rd, 64*1024)
		prevHash, prevRaw = "", []byte(nil)
		prevSeq           uint64
		legacy            int  // lines before the chain began
		chainBroken       bool // only the first break is named: the rest follow from it
		last              chainFields
	)
	for {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return r, fmt.Errorf("audit log %s cannot be read at line %d: %w", path, r.Lines+1, rerr)
		}
		if len(raw) == 0 {
			break
		}
		r.Lines++
		n := r.Lines
		line, complete := bytes.CutSuffix(raw, []byte{'\n'})
		if !complete {
			r.broken(n, "line %d is cut short (no newline at the end): the file was truncated mid-line or a write was interrupted", n)
		}
		c, ok := peekChain(line)
		breakAt := func(at int, format string, a ...any) {
			if !chainBroken {
				r.broken(at, format, a...)
				chainBroken = true
			}
		}
		switch {
		case !ok:
			breakAt(n, "line %d is not a JSON entry: it was changed or damaged", n)
		case c.Prev == "" && legacy == n-1:
			legacy++
		case c.Prev == "":
			breakAt(n, "line %d carries no prev hash: it was inserted or changed", n)
		case n == 1:
			checkPredecessor(&r, path, c)
		case c.Prev == Genesis:
			breakAt(n, "line %d starts a new chain in the middle of the log: the lines before it do not belong with it", n)
		case c.Prev != prevHash && prevSeq > 0 && c.Seq > prevSeq+1:
			breakAt(n, "line %d: %s missing before it (line %d has seq %d, line %d has seq %d)",
				n, entries(c.Seq-prevSeq-1), n-1, prevSeq, n, c.Seq)
		case c.Prev != prevHash:
			breakAt(n-1, "line %d was changed: its hash is not the prev that line %d recorded", n-1, n)
		case legacy != n-1 && c.Seq != prevSeq+1:
			breakAt(n, "line %d was changed: its seq %d does not follow %d", n, c.Seq, prevSeq)
		}
		if ok && c.Prev != "" {
			if r.FirstSeq == 0 {
				r.FirstSeq = c.Seq
			}
			r.LastSeq = c.Seq
		}
		prevHash, prevRaw, prevSeq, last = hashLine(line), line, c.Seq, c
		if rerr == io.EOF {
			break
		}
	}
	if legacy > 0 {
		r.note(1, "lines 1-%d predate the hash chain: only the last of them is covered", legacy)
	}
	if r.Lines == 0 {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			return r, fmt.Errorf("audit log %s: %w", path, err)
		}
		return r, verifyEmpty(&r, &fileID{Dev: uint64(st.Dev), Ino: st.Ino})
	}
	if _, rotated := splitRotated(path); rotated > 0 {
		r.note(0, "a rotated file: its end is checked from the first line of the file that continues it")
		return r, nil
	}
	checkHead(&r, path, prevRaw, last, legacy == r.Lines)
	return r, nil
}

func entries(n uint64) string {
	if n == 1 {
		return "1 entry is"
	}
	return fmt.Sprintf("%d entries are", n)
}

// checkHead compares the end of the log with the head file, which moved on with every line:
// lines removed from the end, or a truncation, leave the head pointing past the end.
func checkHead(r *Report, path string, lastRaw []byte, last chainFields, allLegacy bool) {
	h, err := readHead(HeadPath(path))
	switch {
	case errors.Is(err, os.ErrNotExist) && allLegacy:
		r.note(0, "no hash chain yet: written before the chain existed")
		return
	case errors.Is(err, os.ErrNotExist):
		r.broken(0, "head file %s is missing: removal of the last lines cannot be ruled out", HeadPath(path))
		return
	case err != nil:
		r.broken(0, "%v", err)
		return
	}
	lh := hashLine(lastRaw)
	switch {
	case lh == h.Hash && last.Seq == h.Seq:
	case last.Seq == h.Seq+1 && last.Prev == h.Hash:
		r.note(r.Lines, "the head file lags one line behind (a writer stopped between the line and the head file)")
	case h.Seq > last.Seq:
		r.broken(r.Lines+1, "the last %s missing: the log ends at line %d with seq %d, the head file records seq %d (hash %s)",
			entries(h.Seq-last.Seq), r.Lines, last.Seq, h.Seq, short(h.Hash))
	case h.Seq == last.Seq:
		r.broken(r.Lines, "line %d, the last, was changed: its hash is not the one the head file records", r.Lines)
	default:
		r.broken(0, "the head file records seq %d but the log goes on to seq %d: the head file was replaced", h.Seq, last.Seq)
	}
}

// verifyEmpty judges a log with no lines (id nil: no file at all). With a head file that is
// either a rotation (the predecessor must end at the head) or a truncation or removal.
func verifyEmpty(r *Report, id *fileID) error {
	h, err := readHead(HeadPath(r.Path))
	switch {
	case errors.Is(err, os.ErrNotExist) && id == nil:
		return fmt.Errorf("no audit log at %s: nothing was recorded there (pass --audit-log)", r.Path)
	case errors.Is(err, os.ErrNotExist):
		r.note(0, "empty log")
		return nil
	case err != nil:
		r.broken(0, "%v", err)
		return nil
	}
	pred, last, perr := findPredecessor(r.Path)
	switch {
	case perr != nil:
		return perr
	case pred != "" && hashLine(last) == h.Hash:
		r.note(0, "rotated: nothing appended since; %s ends at the recorded head (seq %d)", pred, h.Seq)
	case pred != "":
		r.broken(0, "the head file says the log ended with seq %d (hash %s) but the last line of %s is another: its last lines were removed or changed",
			h.Seq, short(h.Hash), pred)
	case id == nil:
		r.broken(0, "the log is gone: the head file records %d entries ending with hash %s", h.Seq, short(h.Hash))
	case id.Dev == h.Dev && id.Ino == h.Ino:
		r.broken(1, "the log was truncated: it is empty but the head file records %d entries ending with hash %s", h.Seq, short(h.Hash))
	default:
		r.note(0, "rotated (a new file): nothing appended since; the predecessor ending with hash %s is not there to check", short(h.Hash))
	}
	return nil
}
