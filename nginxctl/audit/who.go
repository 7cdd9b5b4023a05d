package audit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// identity is who runs this process, read once when the log is opened.
type identity struct {
	Host      string
	User      string
	LoginUser string
	LoginUID  *uint32
	SudoUser  string
	SudoUID   *uint32
	TTY       string
	SSHClient string
}

// whoSource says where identity is read from; tests point it at files they made.
type whoSource struct {
	proc    string              // normally /proc
	getenv  func(string) string // normally os.Getenv
	ttyFDs  []int               // normally 0, 1, 2
	maxUp   int                 // how many ancestors to search for SSH_CONNECTION
	selfPID int
}

func defaultWhoSource() whoSource {
	return whoSource{proc: "/proc", getenv: os.Getenv, ttyFDs: []int{0, 1, 2}, maxUp: 16, selfPID: os.Getpid()}
}

// unsetLoginUID is what the kernel shows when no login session set the loginuid.
const unsetLoginUID = 4294967295

// gather reads who this is: the effective user, the login user the kernel keeps for the
// session (pam_loginuid, survives sudo and su), what sudo says, the terminal and the SSH peer.
func (src whoSource) gather() identity {
	var id identity
	id.Host, _ = os.Hostname()
	id.User = userName(uint32(os.Geteuid()))
	if raw, err := os.ReadFile(filepath.Join(src.proc, "self", "loginuid")); err == nil {
		if uid, ok := parseLoginUID(string(raw)); ok {
			id.LoginUID = &uid
			id.LoginUser = lookupName(uid)
		}
	}
	id.SudoUser = src.getenv("SUDO_USER")
	if v, err := strconv.ParseUint(src.getenv("SUDO_UID"), 10, 32); err == nil {
		uid := uint32(v)
		id.SudoUID = &uid
	}
	id.TTY = src.tty()
	id.SSHClient = src.sshClient()
	return id
}

// parseLoginUID reads /proc/PID/loginuid: a decimal uid, or 4294967295 when unset.
func parseLoginUID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || v == unsetLoginUID {
		return 0, false
	}
	return uint32(v), true
}

// userName is the account name for uid, or the number when it has none.
func userName(uid uint32) string {
	if name := lookupName(uid); name != "" {
		return name
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func lookupName(uid uint32) string {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

// tty names the terminal the operator typed into: the first of stdin, stdout, stderr that is
// one, else the controlling terminal from /proc/self/stat (a redirected hotdeploy still has it).
func (src whoSource) tty() string {
	for _, fd := range src.ttyFDs {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			continue
		}
		if name, err := os.Readlink(filepath.Join(src.proc, "self", "fd", strconv.Itoa(fd))); err == nil {
			return name
		}
	}
	raw, err := os.ReadFile(filepath.Join(src.proc, "self", "stat"))
	if err != nil {
		return ""
	}
	nr, ok := statTTYNr(raw)
	if !ok {
		return ""
	}
	return ttyName(nr)
}

// statTTYNr takes tty_nr (field 7) from /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func statTTYNr(stat []byte) (uint32, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:])) // state ppid pgrp session tty_nr ...
	if len(f) < 5 {
		return 0, false
	}
	v, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return uint32(v), true
}

// ttyName turns a device number into the usual name: pts are majors 136-143, virtual
// consoles and serial lines major 4; anything else is given as major:minor.
func ttyName(nr uint32) string {
	major, minor := unix.Major(uint64(nr)), unix.Minor(uint64(nr))
	switch {
	case major >= 136 && major <= 143:
		return fmt.Sprintf("/dev/pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("/dev/tty%d", minor)
	case major == 4:
		return fmt.Sprintf("/dev/ttyS%d", minor-64)
	}
	return fmt.Sprintf("tty %d:%d", major, minor)
}

// sshClient is the peer of the SSH session. sudo drops SSH_CONNECTION from the environment
// by default, so when this process lacks it the ancestors' environments are searched (sudo
// itself still has it; root may read them).
func (src whoSource) sshClient() string {
	if c := parseSSH(src.getenv("SSH_CONNECTION"), src.getenv("SSH_CLIENT")); c != "" {
		return c
	}
	pid := src.selfPID
	for i := 0; i < src.maxUp && pid > 1; i++ {
		ppid, ok := parentPID(filepath.Join(src.proc, strconv.Itoa(pid), "stat"))
		if !ok || ppid <= 1 {
			return ""
		}
		pid = ppid
		env, err := os.ReadFile(filepath.Join(src.proc, strconv.Itoa(pid), "environ"))
		if err != nil {
			continue
		}
		vars := map[string]string{}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if k, v, ok := strings.Cut(string(kv), "="); ok && strings.HasPrefix(k, "SSH_") {
				vars[k] = v
			}
		}
		if c := parseSSH(vars["SSH_CONNECTION"], vars["SSH_CLIENT"]); c != "" {
			return c
		}
	}
	return ""
}

func parentPID(statPath string) (int, bool) {
	raw, err := os.ReadFile(statPath)
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// parseSSH turns SSH_CONNECTION ("client port server port") or SSH_CLIENT ("client port
// serverport") into "client:port" ("[v6]:port" for IPv6).
func parseSSH(conn, client string) string {
	for _, s := range []string{conn, client} {
		f := strings.Fields(s)
		if len(f) < 2 || net.ParseIP(f[0]) == nil {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 16); err != nil {
			continue
		}
		return net.JoinHostPort(f[0], f[1])
	}
	return ""
}
