// Package audit keeps hotdeploy's audit trail: one JSON line per action, naming the person
// behind it (not just "root" under sudo), chained by hashes so that a changed, removed or
// truncated line is caught by Verify, and copied to the system journal (or syslog), which is
// where operators look and which an intruder on the host cannot quietly rewrite.
package audit

import (
	"fmt"
	"strings"
	"time"
)

// Genesis is the prev of the first line of a log that continues nothing.
const Genesis = "genesis"

// Entry is one line of the audit log. The identity fields (host, user, login_*, sudo_*, tty,
// ssh_client) and the chain fields (seq, rotated_from, prev) are filled in by Record: a caller
// cannot claim to be someone else or bend the chain.
type Entry struct {
	Time       time.Time `json:"time"`
	Host       string    `json:"host,omitempty"`
	User       string    `json:"user"`
	LoginUser  string    `json:"login_user,omitempty"`
	LoginUID   *uint32   `json:"login_uid,omitempty"`
	SudoUser   string    `json:"sudo_user,omitempty"`
	SudoUID    *uint32   `json:"sudo_uid,omitempty"`
	TTY        string    `json:"tty,omitempty"`
	SSHClient  string    `json:"ssh_client,omitempty"`
	Instance   string    `json:"instance"`
	Action     string    `json:"action"`
	Signal     string    `json:"signal,omitempty"`
	PID        int       `json:"pid,omitempty"`
	StartTicks uint64    `json:"start_ticks,omitempty"`
	Result     string    `json:"result"` // sent, refused, failed, installed, restored, ok
	Error      string    `json:"error,omitempty"`
	Install    *Install  `json:"install,omitempty"`
	// Seq counts entries since the log began, across rotations, so a gap names what is missing.
	Seq uint64 `json:"seq"`
	// RotatedFrom is set on the first line of a file created by logrotate: the hash of the
	// last line of the file it replaced (also in Prev), so Verify knows to look for it.
	RotatedFrom string `json:"rotated_from,omitempty"`
	// Prev is the sha256 (hex) of the previous line's bytes, or Genesis.
	Prev string `json:"prev"`
}

// Install says which files an install or restore touched, so the trail shows which build ran.
type Install struct {
	Binary       string `json:"binary,omitempty"`
	Backup       string `json:"backup,omitempty"`
	Kept         string `json:"kept,omitempty"`
	NewSHA256    string `json:"new_sha256,omitempty"`
	BackupSHA256 string `json:"backup_sha256,omitempty"`
}

// Who names the person behind an entry: under sudo the operator, with the account that acted
// in brackets ("alice via sudo (root)"); after su, the login account ("alice as root").
func (e Entry) Who() string {
	user := e.User
	if user == "" {
		user = "?"
	}
	switch {
	case e.SudoUser != "" && e.SudoUser != user:
		s := fmt.Sprintf("%s via sudo (%s)", e.SudoUser, user)
		if e.LoginUser != "" && e.LoginUser != e.SudoUser {
			s += ", login " + e.LoginUser
		}
		return s
	case e.LoginUser != "" && e.LoginUser != user:
		return fmt.Sprintf("%s as %s", e.LoginUser, user)
	case e.LoginUser == "" && e.LoginUID != nil && *e.LoginUID != 0:
		return fmt.Sprintf("uid %d as %s", *e.LoginUID, user)
	}
	return user
}

var oneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// summary is the one-line MESSAGE for the journal and syslog: who did what to which process.
func summary(e Entry) string {
	var b strings.Builder
	b.WriteString(e.Who())
	if e.SSHClient != "" {
		b.WriteString(" from " + e.SSHClient)
	}
	b.WriteString(": " + e.Action)
	if e.Signal != "" {
		b.WriteString(" " + e.Signal)
	}
	if e.PID != 0 {
		fmt.Fprintf(&b, " pid %d", e.PID)
	}
	if e.Instance != "" {
		b.WriteString(" of " + e.Instance)
	}
	b.WriteString(": " + e.Result)
	if e.Error != "" {
		b.WriteString(": " + e.Error)
	}
	return oneLine.Replace(b.String())
}
