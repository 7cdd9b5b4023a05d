package proc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// statLine builds a /proc/PID/stat line with the given comm; fields are 3..52 by their 1-based
// number in proc(5), so tests name the field they mean.
func statLine(pid int, comm string, fields map[int]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d (%s)", pid, comm)
	for n := 3; n <= 52; n++ {
		v, ok := fields[n]
		if !ok {
			v = "0"
			if n == 3 {
				v = "S"
			}
		}
		b.WriteString(" " + v)
	}
	b.WriteString("\n")
	return b.String()
}

func TestParseStat(t *testing.T) {
	// ppid 4, session 6, tty 7, tpgid 8, flags 9, utime 14, stime 15, priority 18, nice 19,
	// start 22, rss 24.
	typical := map[int]string{3: "S", 4: "4321", 6: "4321", 7: "0", 8: "-1", 9: "4194624", 14: "12", 15: "30",
		18: "20", 19: "0", 22: "83180", 24: "415"}
	want := Stat{State: 'S', PPID: 4321, Session: 4321, Flags: 4194624, CPUTicks: 42, StartTicks: 83180, RSSPages: 415}
	tests := []struct {
		name string
		comm string
	}{
		{"plain", "nginx"},
		{"spaces", "my nginx"},
		{"parentheses", "(sd-pam)"},
		{"closing parenthesis and a fake state", "x) R 99 (y"},
		{"only a closing parenthesis", ")"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(statLine(1234, tt.comm, typical)))
			if err != nil {
				t.Fatalf("parseStat: %v", err)
			}
			w := want
			w.Comm = tt.comm
			if got != w {
				t.Errorf("parseStat = %+v, want %+v", got, w)
			}
		})
	}
}

func TestParseStatNegativeAndLargeFields(t *testing.T) {
	// A real-time process has a negative priority, a niced one a negative nice; big counters
	// must not overflow into the wrong field.
	fields := map[int]string{3: "R", 4: "1", 7: "-1", 8: "-1", 14: "18446744073709551", 15: "1",
		18: "-51", 19: "-20", 22: "4294967296000", 24: "1"}
	got, err := parseStat([]byte(statLine(7, "rt", fields)))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != 'R' || got.PPID != 1 || got.CPUTicks != 18446744073709552 || got.StartTicks != 4294967296000 || got.RSSPages != 1 {
		t.Errorf("parseStat = %+v", got)
	}
}

func TestParseStatMalformed(t *testing.T) {
	full := statLine(1, "nginx", nil)
	tests := map[string]string{
		"empty":                  "",
		"no parentheses":         "1 nginx S 0 0",
		"closing before opening": "1 )nginx( S 0 0",
		"ends after comm":        "1 (nginx)",
		"ends after state":       "1 (nginx) S",
		"too few fields":         "1 (nginx) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 83180",
		"letter in a number":     strings.Replace(full, "(nginx) S 0", "(nginx) S x", 1),
		"lone minus sign":        strings.Replace(full, "(nginx) S 0", "(nginx) S -", 1),
		"double space":           strings.Replace(full, "(nginx) S 0", "(nginx) S  0", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := parseStat([]byte(in)); !errors.Is(err, errBadStat) {
				t.Errorf("parseStat(%q) = %+v, %v; want errBadStat", in, got, err)
			}
		})
	}
}

func TestParseStatOfThisProcess(t *testing.T) {
	r := NewReader()
	st, err := r.Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != strings.TrimSuffix(string(comm), "\n") || st.PPID != os.Getppid() || st.StartTicks == 0 || st.RSSPages == 0 {
		t.Errorf("stat of this process = %+v; comm file %q, ppid %d", st, comm, os.Getppid())
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-1", 0, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"", 0, false}, {"-", 0, false}, {"4a", 0, false}, {"+1", 0, false}, {"--1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestProcReaderGrowsBufferAndReportsMissing(t *testing.T) {
	// /proc/self/environ of a test binary is usually over the first 4 KiB buffer: the reader must
	// grow, not truncate. Compare with os.ReadFile.
	r := NewReader()
	r.buf = r.buf[:16] // force several growths
	got, err := r.Read(os.Getpid(), "environ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("read environ: %d bytes, os.ReadFile %d", len(got), len(want))
	}
	if _, err := r.Read(os.Getpid(), "no-such-file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err %v, want not exist", err)
	}
}
