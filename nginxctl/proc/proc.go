package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/PID/stat; Linux fixes it at 100 for
// user space on every architecture Go supports.
const ClockTicks = 100

// Stat is the part of /proc/PID/stat that hotdeploy uses.
type Stat struct {
	Comm       string
	State      byte
	PPID       int
	Pgrp       int // process group: an upgrade's new master and its workers stay in the old master's
	Session    int
	Flags      uint64 // field 9, the kernel's PF_* flags
	CPUTicks   uint64 // utime + stime
	StartTicks uint64 // field 22: with the pid, a process's identity
	RSSPages   uint64
}

// PFForkNoExec is PF_FORKNOEXEC of include/linux/sched.h: fork sets it, execve clears it.
const PFForkNoExec = 0x40

// Reader reads small /proc files into one reused buffer. A scan of a few thousand processes
// is dominated by these reads, so they avoid os.ReadFile's extra stat and allocations.
// It is not safe for concurrent use.
type Reader struct {
	buf  []byte
	path []byte
	// kept holds open files of a keeping Reader (NewKeepingReader), nil otherwise.
	kept   map[keptKey]*keptFile
	sweeps uint64
}

func NewReader() *Reader {
	return &Reader{buf: make([]byte, 4096), path: make([]byte, 0, 64)}
}

// read returns the content of /proc/<pid>/<name>, valid until the next call.
func (r *Reader) Read(pid int, name string) ([]byte, error) {
	r.setPath(pid, name)
	fd, err := syscall.Open(string(r.path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: string(r.path), Err: err}
	}
	defer syscall.Close(fd)
	n := 0
	for {
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: string(r.path), Err: err}
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
	}
}

var errBadStat = errors.New("malformed /proc stat")

// stat parses /proc/<pid>/stat.
func (r *Reader) Stat(pid int) (Stat, error) {
	b, err := r.readKept(pid, "stat")
	if err != nil {
		return Stat{}, err
	}
	return parseStat(b)
}

// parseStat reads the fields hotdeploy needs. comm may hold spaces and parentheses, so it is
// everything between the first '(' and the last ')'.
func parseStat(b []byte) (Stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return Stat{}, errBadStat
	}
	st := Stat{Comm: string(b[open+1 : end])}
	rest := b[end+2:]
	var f [22]uint64 // fields 3..24, from state on
	for i := 0; i < len(f); i++ {
		sp := bytes.IndexByte(rest, ' ')
		tok := rest
		if sp >= 0 {
			tok = rest[:sp]
		}
		if i == 0 {
			if len(tok) == 0 {
				return Stat{}, errBadStat
			}
			st.State = tok[0]
		} else {
			v, ok := parseInt(tok)
			if !ok {
				return Stat{}, fmt.Errorf("%w: field %d %q", errBadStat, i+3, tok)
			}
			f[i] = v
		}
		if sp < 0 {
			if i < len(f)-1 {
				return Stat{}, errBadStat
			}
			break
		}
		rest = rest[sp+1:]
	}
	st.PPID = int(f[1])
	st.Pgrp = int(f[2])
	st.Session = int(f[3])
	st.Flags = f[6]
	st.CPUTicks = f[11] + f[12]
	st.StartTicks = f[19]
	st.RSSPages = f[21]
	return st, nil
}

// parseInt reads a decimal that may be negative (tty fields); negatives come back as 0, which
// is all the fields hotdeploy uses need.
func parseInt(b []byte) (uint64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		return 0, true
	}
	return v, true
}

// title returns the process title: /proc/<pid>/cmdline with NULs turned into spaces. nginx
// rewrites its argv into one NUL-padded string, so this is "nginx: worker process" and such.
func (r *Reader) Title(pid int) (string, error) {
	b, err := r.readKept(pid, "cmdline")
	if err != nil {
		return "", err
	}
	b = bytes.TrimRight(b, "\x00 ")
	out := make([]byte, len(b))
	for i, c := range b {
		if c == 0 {
			c = ' '
		}
		out[i] = c
	}
	return string(out), nil
}

// comm returns /proc/<pid>/comm without its newline: the cheapest way to tell nginx apart
// during a full scan.
func (r *Reader) Comm(pid int) ([]byte, error) {
	b, err := r.Read(pid, "comm")
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b, []byte{'\n'}), nil
}

// children lists the children of a single-threaded process (an nginx master) from
// /proc/<pid>/task/<pid>/children, so a refresh never walks the whole process table. A keeping
// Reader keeps the file open: it lists the children at each read from offset 0.
func (r *Reader) Children(pid int) ([]int, error) {
	b, err := r.readKept(pid, "task/"+strconv.Itoa(pid)+"/children")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range bytes.Fields(b) {
		if v, ok := parseInt(f); ok {
			pids = append(pids, int(v))
		}
	}
	return pids, nil
}

// owner returns the uid that owns /proc/<pid>, the process's effective uid.
func Owner(pid int) (int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err != nil {
		return -1, err
	}
	return int(st.Uid), nil
}
