package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sinkTimeout bounds a send to a journal or syslog daemon that stopped reading: a datagram
// socket whose reader is stuck blocks the writer, and the audit copy must never hang hotdeploy.
const sinkTimeout = 2 * time.Second

// sendCopy copies the entry to the systemd journal when its socket is there, else to syslog
// when /dev/log is there. Neither being there is fine; a failure is returned only so that
// tests can see it, Record never fails because of it.
func sendCopy(journalPath, syslogPath string, e Entry, line []byte) error {
	var errs []error
	if isSocket(journalPath) {
		err := sendJournal(journalPath, journalFields(e, line))
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("journal: %w", err))
	}
	if isSocket(syslogPath) {
		if err := sendSyslog(syslogPath, e, line); err != nil {
			errs = append(errs, fmt.Errorf("syslog: %w", err))
		} else {
			return nil
		}
	}
	return errors.Join(errs...)
}

func isSocket(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// field is one journal field; order is kept so the datagram is predictable.
type field struct{ Name, Value string }

// journalFields are MESSAGE, SYSLOG_IDENTIFIER=hotdeploy, a priority, and every JSON field of
// the line as HOTDEPLOY_<NAME> (nested ones joined with _), plus the line's own hash so the
// journal holds a witness of the chain that a root intruder cannot edit in place.
func journalFields(e Entry, line []byte) []field {
	prio := "6" // info
	switch e.Result {
	case "failed":
		prio = "3"
	case "refused":
		prio = "4"
	}
	fs := []field{
		{"MESSAGE", summary(e)},
		{"PRIORITY", prio},
		{"SYSLOG_FACILITY", "10"}, // authpriv: who did what as root
		{"SYSLOG_IDENTIFIER", "hotdeploy"},
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.UseNumber()
	if dec.Decode(&m) == nil {
		var flat []field
		flatten("HOTDEPLOY", m, &flat)
		sort.Slice(flat, func(i, j int) bool { return flat[i].Name < flat[j].Name })
		fs = append(fs, flat...)
	}
	return append(fs, field{"HOTDEPLOY_LINE_SHA256", hashLine(line)})
}

func flatten(prefix string, v any, out *[]field) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			flatten(prefix+"_"+strings.ToUpper(k), sub, out)
		}
	case string:
		*out = append(*out, field{prefix, v})
	case json.Number:
		*out = append(*out, field{prefix, v.String()})
	case bool:
		*out = append(*out, field{prefix, fmt.Sprint(v)})
	case nil:
	default:
		raw, _ := json.Marshal(v)
		*out = append(*out, field{prefix, string(raw)})
	}
}

// encodeNative is journald's native protocol: NAME=value lines, except that a value holding
// a newline is sent as NAME, newline, its length as 64-bit little endian, the bytes, newline.
func encodeNative(fs []field) []byte {
	var b []byte
	for _, f := range fs {
		if strings.ContainsRune(f.Value, '\n') {
			b = append(b, f.Name...)
			b = append(b, '\n')
			b = binary.LittleEndian.AppendUint64(b, uint64(len(f.Value)))
			b = append(b, f.Value...)
			b = append(b, '\n')
			continue
		}
		b = append(b, f.Name...)
		b = append(b, '=')
		b = append(b, f.Value...)
		b = append(b, '\n')
	}
	return b
}

// sendJournal sends one datagram; one too large for a datagram goes as a sealed memfd passed
// with SCM_RIGHTS, which journald reads as if it were the datagram.
func sendJournal(socket string, fs []field) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(sinkTimeout))
	payload := encodeNative(fs)
	_, err = conn.Write(payload)
	if errors.Is(err, unix.EMSGSIZE) || errors.Is(err, unix.ENOBUFS) {
		return sendMemfd(conn, payload)
	}
	return err
}

func sendMemfd(conn *net.UnixConn, payload []byte) error {
	fd, err := unix.MemfdCreate("hotdeploy-journal", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if _, err := f.Write(payload); err != nil {
		return fmt.Errorf("memfd: %w", err)
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("memfd seal: %w", err) // journald only takes a sealed memfd
	}
	// WriteMsgUnix refuses a connected datagram socket, so sendmsg goes through the raw
	// descriptor, still under the connection's write deadline.
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	rights := unix.UnixRights(int(f.Fd()))
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), nil, rights, nil, 0)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

// syslogMax keeps the syslog line within what syslog daemons take in one datagram.
const syslogMax = 8 * 1024

// sendSyslog writes an RFC 3164 line as the C library does for a local socket (authpriv.info,
// tag hotdeploy[pid]), with the summary and then the JSON line so the fields are all there.
func sendSyslog(socket string, e Entry, line []byte) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(sinkTimeout))
	sev := 6
	if e.Result == "failed" {
		sev = 3
	}
	msg := syslogLine(10*8+sev, time.Now(), os.Getpid(), summary(e)+" "+string(line))
	if len(msg) > syslogMax {
		msg = syslogLine(10*8+sev, time.Now(), os.Getpid(), summary(e)+" (entry too long for syslog: see the audit log)")
	}
	if len(msg) > syslogMax {
		msg = msg[:syslogMax]
	}
	_, err = conn.Write([]byte(msg))
	return err
}

func syslogLine(pri int, t time.Time, pid int, msg string) string {
	return fmt.Sprintf("<%d>%s hotdeploy[%d]: %s", pri, t.Format(time.Stamp), pid, msg)
}
