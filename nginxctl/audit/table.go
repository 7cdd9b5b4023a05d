package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ReadEntries reads the entries of the log at path written at or after since (all when since
// is zero). Lines that are not entries are skipped and counted in the error, which comes with
// the entries that did read: a damaged line must not hide the others.
func ReadEntries(path string, since time.Time) ([]Entry, error) {
	rd, err := openLog(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no audit log at %s: nothing was recorded there (pass --audit-log)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s cannot be read: %w", path, err)
	}
	defer rd.Close()
	out := []Entry{}
	bad, firstBad, n := 0, 0, 0
	br := bufio.NewReaderSize(rd, 64*1024)
	for {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return out, fmt.Errorf("audit log %s cannot be read at line %d: %w", path, n+1, rerr)
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			n++
			var e Entry
			if err := json.Unmarshal(line, &e); err != nil {
				if bad++; firstBad == 0 {
					firstBad = n
				}
			} else if since.IsZero() || !e.Time.Before(since) {
				out = append(out, e)
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if bad > 0 {
		what := fmt.Sprintf("%d lines are not entries (the first is line %d)", bad, firstBad)
		if bad == 1 {
			what = fmt.Sprintf("line %d is not an entry", firstBad)
		}
		return out, fmt.Errorf("audit log %s: %s: run hotdeploy audit verify", path, what)
	}
	return out, nil
}

// WriteTable prints entries as a table an operator reads at a glance: when, who (the person,
// not just root), which instance, what was done and with what result.
func WriteTable(w io.Writer, entries []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tWHO\tINSTANCE\tACTION\tSIGNAL\tPID\tRESULT")
	for _, e := range entries {
		pid := "-"
		if e.PID != 0 {
			pid = strconv.Itoa(e.PID)
		}
		result := e.Result
		if e.Error != "" {
			result += ": " + clip(oneLine.Replace(e.Error), 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"),
			cell(e.Who()), cell(e.Instance), cell(e.Action), cell(e.Signal), pid, result)
	}
	return tw.Flush()
}

// cell keeps a value one cell wide: no tabs or newlines, and "-" for nothing.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(oneLine.Replace(s), "\t", " ")
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WriteJSON prints entries as JSON lines, one object per entry, for scripts and jq.
func WriteJSON(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// RunList is `hotdeploy audit [--since D] [--json]`: the entries of the last D (all when 0) as
// a table or JSON lines. Entries are printed even when some lines are damaged; the error says so.
func RunList(w io.Writer, path string, since time.Duration, asJSON bool) error {
	if path == "" {
		path = DefaultPath()
	}
	var from time.Time
	if since > 0 {
		from = time.Now().Add(-since)
	}
	entries, err := ReadEntries(path, from)
	if err != nil && len(entries) == 0 {
		return err // nothing read (missing, unreadable, or every line damaged): no empty table
	}
	var werr error
	if asJSON {
		werr = WriteJSON(w, entries)
	} else {
		werr = WriteTable(w, entries)
	}
	if werr != nil {
		return werr
	}
	return err
}

// RunVerify is `hotdeploy audit verify`: one line per finding, then the verdict; it returns
// the exit code: 0 intact, 1 broken, 2 unreadable.
func RunVerify(w io.Writer, path string) int {
	if path == "" {
		path = DefaultPath()
	}
	r, err := Verify(path)
	if err != nil {
		fmt.Fprintf(w, "%s: unreadable: %v\n", path, err)
		return 2
	}
	for _, f := range r.Findings {
		where := path
		if f.Line > 0 {
			where += ":" + strconv.Itoa(f.Line)
		}
		kind := "note"
		if f.Broken {
			kind = "BROKEN"
		}
		fmt.Fprintf(w, "%s: %s: %s\n", where, kind, f.Text)
	}
	seqs := ""
	if r.LastSeq > 0 {
		seqs = fmt.Sprintf(", seq %d-%d", r.FirstSeq, r.LastSeq)
	}
	if f, broken := r.FirstBroken(); broken {
		where := "the file as a whole"
		if f.Line > 0 {
			where = "first at line " + strconv.Itoa(f.Line)
		}
		fmt.Fprintf(w, "%s: BROKEN (%s), %d lines%s\n", path, where, r.Lines, seqs)
		return 1
	}
	fmt.Fprintf(w, "%s: intact, %d lines%s\n", path, r.Lines, seqs)
	return 0
}
