package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestEncodeNative(t *testing.T) {
	got := encodeNative([]field{{"MESSAGE", "usr2 sent"}, {"HOTDEPLOY_ERROR", "a\nb"}})
	want := []byte("MESSAGE=usr2 sent\nHOTDEPLOY_ERROR\n")
	want = binary.LittleEndian.AppendUint64(want, 3)
	want = append(want, "a\nb\n"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// parseNative reads journald's native protocol as journald does, so the test checks what a
// real journal would store.
func parseNative(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			t.Fatalf("field without a newline: %q", b)
		}
		line := b[:nl]
		if name, value, ok := bytes.Cut(line, []byte{'='}); ok {
			out[string(name)] = string(value)
			b = b[nl+1:]
			continue
		}
		rest := b[nl+1:]
		if len(rest) < 8 {
			t.Fatalf("binary field %q without a length", line)
		}
		n := binary.LittleEndian.Uint64(rest)
		if uint64(len(rest)) < 8+n+1 || rest[8+n] != '\n' {
			t.Fatalf("binary field %q: length %d does not fit", line, n)
		}
		out[string(line)] = string(rest[8 : 8+n])
		b = rest[8+n+1:]
	}
	return out
}

// listen opens a datagram socket in a temp dir, as journald and syslog daemons do.
func listen(t *testing.T, name string) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// receive reads one datagram, and the file passed with it if any.
func receive(t *testing.T, c *net.UnixConn) ([]byte, *os.File) {
	t.Helper()
	buf, oob := make([]byte, 1<<20), make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // only so a broken sender cannot hang the test
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	var fd *os.File
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			t.Fatalf("control messages %v %v", msgs, err)
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			t.Fatalf("rights %v %v", fds, err)
		}
		fd = os.NewFile(uintptr(fds[0]), "passed")
		t.Cleanup(func() { fd.Close() })
	}
	return buf[:n], fd
}

func TestJournalNativeProtocol(t *testing.T) {
	conn, sock := listen(t, "journal.socket")
	l := openTest(t, "")
	l.journalSocket = sock
	l.syslogSocket = filepath.Join(t.TempDir(), "no-syslog") // must not be used
	err := l.Record(Entry{Instance: "/run/nginx.pid", Action: "usr2", Signal: "SIGUSR2", PID: 4242,
		StartTicks: 99, Result: "failed", Error: "new master exited:\n[emerg] bind() failed"})
	if err != nil || l.sinkErr != nil {
		t.Fatalf("record: %v, journal: %v", err, l.sinkErr)
	}
	raw, fd := receive(t, conn)
	if fd != nil {
		t.Fatal("a small entry came as a file, want one datagram")
	}
	got := parseNative(t, raw)
	line := readLines(t, l.Path())[0]
	want := map[string]string{
		"SYSLOG_IDENTIFIER":     "hotdeploy",
		"PRIORITY":              "3",
		"HOTDEPLOY_ACTION":      "usr2",
		"HOTDEPLOY_SIGNAL":      "SIGUSR2",
		"HOTDEPLOY_PID":         "4242",
		"HOTDEPLOY_START_TICKS": "99",
		"HOTDEPLOY_RESULT":      "failed",
		"HOTDEPLOY_ERROR":       "new master exited:\n[emerg] bind() failed",
		"HOTDEPLOY_SEQ":         "1",
		"HOTDEPLOY_PREV":        Genesis,
		"HOTDEPLOY_USER":        l.who.User,
		"HOTDEPLOY_LINE_SHA256": hashLine([]byte(line)),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	msg := got["MESSAGE"]
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "usr2 SIGUSR2 pid 4242 of /run/nginx.pid: failed: new master exited: [emerg]") {
		t.Errorf("MESSAGE = %q, want one line saying what happened", msg)
	}
}

// An entry too large for a datagram goes as a sealed memfd, as journald requires.
func TestJournalLargeEntryAsMemfd(t *testing.T) {
	conn, sock := listen(t, "journal.socket")
	l := openTest(t, "")
	l.journalSocket = sock
	big := strings.Repeat("x", 400*1024)
	if err := l.Record(Entry{Instance: "i", Action: "install", Result: "failed", Error: big}); err != nil || l.sinkErr != nil {
		t.Fatalf("record: %v, journal: %v", err, l.sinkErr)
	}
	raw, fd := receive(t, conn)
	if fd == nil || len(raw) != 0 {
		t.Fatalf("got a %d-byte datagram and file %v, want an empty datagram carrying a memfd", len(raw), fd)
	}
	seals, err := unix.FcntlInt(fd.Fd(), unix.F_GET_SEALS, 0)
	if want := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL; err != nil || seals&want != want {
		t.Fatalf("seals %#x (%v), want %#x", seals, err, want)
	}
	var b bytes.Buffer // journald maps the file from its start: the shared offset is at the end
	if _, err := b.ReadFrom(io.NewSectionReader(fd, 0, 1<<30)); err != nil {
		t.Fatal(err)
	}
	if got := parseNative(t, b.Bytes()); got["HOTDEPLOY_ERROR"] != big || got["SYSLOG_IDENTIFIER"] != "hotdeploy" {
		t.Fatalf("memfd fields: error of %d bytes, identifier %q", len(got["HOTDEPLOY_ERROR"]), got["SYSLOG_IDENTIFIER"])
	}
}

func TestSyslogWhenNoJournal(t *testing.T) {
	conn, sock := listen(t, "log")
	l := openTest(t, "")
	l.journalSocket = filepath.Join(t.TempDir(), "no-journal")
	l.syslogSocket = sock
	record(t, l, 1)
	if l.sinkErr != nil {
		t.Fatal(l.sinkErr)
	}
	raw, _ := receive(t, conn)
	prefix := "<86>" // authpriv.info
	tag := fmt.Sprintf(" hotdeploy[%d]: ", os.Getpid())
	line := readLines(t, l.Path())[0]
	if got := string(raw); !strings.HasPrefix(got, prefix) || !strings.Contains(got, tag) || !strings.HasSuffix(got, " "+line) {
		t.Fatalf("syslog line %q, want %s...%s<summary> <the JSON line>", got, prefix, tag)
	}
}

// A journal that is there but does not answer (nobody bound to the socket) or no sink at all
// never fails Record.
func TestSinksNeverFailRecord(t *testing.T) {
	conn, dead := listen(t, "journal.socket")
	conn.Close() // the socket file stays, nobody reads it
	l := openTest(t, "")
	l.journalSocket = dead
	record(t, l, 1)
	if l.sinkErr == nil {
		t.Fatal("a dead journal socket gave no error to report")
	}
	l.journalSocket, l.syslogSocket = "", filepath.Join(t.TempDir(), "none")
	record(t, l, 1)
	if l.sinkErr != nil {
		t.Fatalf("no sink: %v, want nothing", l.sinkErr)
	}
	wantIntact(t, mustVerify(t, l.Path()))
}
