package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func u32(v uint32) *uint32 { return &v }

func TestWho(t *testing.T) {
	for _, c := range []struct {
		e    Entry
		want string
	}{
		{Entry{User: "root", SudoUser: "alice", SudoUID: u32(1000), LoginUser: "alice", LoginUID: u32(1000)}, "alice via sudo (root)"},
		{Entry{User: "root", SudoUser: "bob", LoginUser: "alice"}, "bob via sudo (root), login alice"},
		{Entry{User: "root", LoginUser: "alice", LoginUID: u32(1000)}, "alice as root"},
		{Entry{User: "root", LoginUID: u32(4000)}, "uid 4000 as root"},
		{Entry{User: "alice", LoginUser: "alice"}, "alice"},
		{Entry{User: "root", LoginUser: "root", LoginUID: u32(0)}, "root"},
		{Entry{}, "?"},
	} {
		if got := c.e.Who(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.Local)
	var b bytes.Buffer
	err := WriteTable(&b, []Entry{
		{Time: at, User: "root", SudoUser: "alice", Instance: "/run/nginx.pid", Action: "usr2", Signal: "SIGUSR2", PID: 1234, Result: "sent"},
		{Time: at, User: "root", Instance: "/run/nginx.pid", Action: "install", Result: "failed", Error: "disk\nfull"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"TIME                 WHO                    INSTANCE        ACTION   SIGNAL   PID   RESULT\n" +
		"2025-03-01 09:30:00  alice via sudo (root)  /run/nginx.pid  usr2     SIGUSR2  1234  sent\n" +
		"2025-03-01 09:30:00  root                   /run/nginx.pid  install  -        -     failed: disk full\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestReadEntriesSinceAndDamage(t *testing.T) {
	l := openTest(t, "")
	old := time.Now().Add(-2 * time.Hour)
	for _, e := range []Entry{{Time: old, Action: "usr2", Result: "sent"}, {Action: "winch", Result: "sent"}} {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadEntries(l.Path(), time.Now().Add(-time.Hour))
	if err != nil || len(got) != 1 || got[0].Action != "winch" {
		t.Fatalf("since 1h: %+v (%v), want the winch only", got, err)
	}
	f, _ := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("not json\n")
	f.Close()
	got, err = ReadEntries(l.Path(), zeroTime)
	if len(got) != 2 || err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("with a damaged line: %d entries, %v; want both entries and an error naming line 3", len(got), err)
	}
}

func TestRunList(t *testing.T) {
	l := openTest(t, "")
	record(t, l, 2)
	var b bytes.Buffer
	if err := RunList(&b, l.Path(), time.Hour, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("--json printed %d lines, want 2: %s", len(lines), b.String())
	}
	var e Entry
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Seq != 2 {
		t.Fatalf("second JSON line %q: %v", lines[1], err)
	}
	b.Reset()
	if err := RunList(&b, l.Path(), 0, false); err != nil || !strings.HasPrefix(b.String(), "TIME ") || strings.Count(b.String(), "\n") != 3 {
		t.Fatalf("table %q (%v), want a header and 2 rows", b.String(), err)
	}
	if err := RunList(&b, l.Path()+".none", 0, false); err == nil || !strings.Contains(err.Error(), "no audit log at") {
		t.Fatalf("missing log: %v", err)
	}
}
