package inspect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/hotdeploy/hotdeploy/model"
)

var pageSize = os.Getpagesize()

// masterInfo is what never changes during a master's life: read once, when it is first seen.
type masterInfo struct {
	argv      []string
	args      MasterArgs
	exeLink   string // /proc/PID/exe as first read, without " (deleted)"
	cwd       string
	prefix    string
	conf      string
	pidFile   string
	errorLog  string
	logLevel  string // of the main error log: "notice" and more verbose show the upgrade's steps
	argv0     string // argv[0] resolved against the master's working directory
	daemonOff bool
	version   string
	hidden    []string
}

// info returns the cached details of a master, reading them on first sight. A new master that
// has not titled itself yet is read each time and not cached: its command line is read from
// the title, which it has not written yet.
func (s *Scanner) info(m model.Process) *masterInfo {
	key := procKey{m.PID, m.StartTicks}
	if mi, ok := s.masters[key]; ok {
		return mi
	}
	mi := s.readInfo(m)
	if m.Role == model.RoleMaster {
		s.masters[key] = mi
	}
	return mi
}

func (s *Scanner) readInfo(m model.Process) *masterInfo {
	mi := &masterInfo{argv: argvFromTitle(m.Title)}
	mi.args = ParseMasterArgs(mi.argv)
	gp := &process.Process{Pid: int32(m.PID)}
	exe, err := gp.Exe()
	if err != nil {
		mi.hide(err, fmt.Sprintf("/proc/%d/exe", m.PID))
	}
	mi.exeLink = strings.TrimSuffix(exe, " (deleted)")
	if mi.cwd, err = gp.Cwd(); err != nil {
		mi.hide(err, fmt.Sprintf("/proc/%d/cwd", m.PID))
	}
	mi.argv0 = mi.args.Argv0
	if mi.argv0 != "" && !filepath.IsAbs(mi.argv0) && mi.cwd != "" {
		mi.argv0 = filepath.Join(mi.cwd, mi.argv0)
	}

	// Paths: command line first, then the config, then what the binary was compiled with.
	var bi buildInfo
	if exe != "" {
		bi, _ = s.bins.info(fmt.Sprintf("/proc/%d/exe", m.PID))
	}
	mi.version = bi.version
	mi.prefix = firstNonEmpty(mi.args.Prefix, bi.prefix, "/usr/local/"+m.Comm+"/")
	mi.conf = underPrefix(mi.prefix, firstNonEmpty(mi.args.Conf, bi.conf, "conf/"+m.Comm+".conf"))
	ds := mainDirectives(mi.conf, mi.args.Directives)
	mi.daemonOff = strings.EqualFold(lastArg(ds, "daemon"), "off")
	mi.pidFile = underPrefix(mi.prefix, firstNonEmpty(lastArg(ds, "pid"), bi.pid, "logs/"+m.Comm+".pid"))
	mi.errorLog = errorLogPath(m.PID, mi, ds, bi)
	mi.logLevel = errorLogLevel(ds)
	return mi
}

func (mi *masterInfo) hide(err error, what string) {
	if errors.Is(err, fs.ErrPermission) {
		mi.hidden = append(mi.hidden, what)
	}
}

// errorLogPath prefers the file the master's stderr points at: a daemonized nginx redirects
// fd 2 to its first error log.
func errorLogPath(pid int, mi *masterInfo, ds []directive, bi buildInfo) string {
	if p, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/2", pid)); err == nil && filepath.IsAbs(p) && p != os.DevNull {
		return strings.TrimSuffix(p, " (deleted)")
	}
	for _, c := range []string{mi.args.ErrorLog, lastArg(ds, "error_log"), bi.errorLog} {
		if c != "" && c != "stderr" && !strings.Contains(c, ":") {
			return underPrefix(mi.prefix, c)
		}
	}
	return ""
}

func underPrefix(prefix, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(prefix, p)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// complete fills in what a refresh must re-read each time: generations, pid files, whether the
// binary on disk changed, and the phase.
func (s *Scanner) complete(in *model.Instance) {
	old := &in.Masters[0]
	mi := s.info(old.Process)
	in.PidFile, in.Conf, in.Prefix, in.ErrorLog = mi.pidFile, mi.conf, mi.prefix, mi.errorLog
	in.ErrorLogLevel = mi.logLevel
	in.Hidden = mi.hidden
	var pidErr error
	now := s.now()
	in.PidFilePID, pidErr = s.readPidFile(in.PidFile, now)
	in.OldbinPID, _ = s.readPidFile(in.PidFile+".oldbin", now)
	if w := pidFileWarning(*in, pidErr); w.Code != "" {
		in.Warn(w)
	}
	if len(in.Masters) > 1 {
		old.Generation = model.GenOld
		in.Masters[1].Generation = model.GenNew
	}
	ids := statMemo{}
	for i := range in.Masters {
		m := &in.Masters[i]
		s.completeMaster(m, i == 0, ids)
		for j := range m.Children {
			m.Children[j].Generation = m.Generation
		}
	}
	// The binary on disk is the file argv[0] names: that is what nginx will exec on USR2.
	in.Binary = firstNonEmpty(mi.argv0, mi.exeLink)
	runningExe := fmt.Sprintf("/proc/%d/exe", current(*in).PID)
	running, errRun := ids.stat(runningExe)
	onDisk, errDisk := ids.stat(in.Binary)
	if errDisk == nil {
		if bi, err := s.bins.infoOf(onDisk, in.Binary); err == nil {
			in.BinaryVersion = bi.version
		}
	}
	otherFile := errRun == nil && errDisk == nil && !running.sameFile(onDisk)
	if otherFile && running.size == onDisk.size {
		a, err1 := s.bins.digestOf(running, runningExe)
		b, err2 := s.bins.digestOf(onDisk, in.Binary)
		in.BinarySameBytes = err1 == nil && err2 == nil && a == b
	}
	in.BinaryDiffers = otherFile && !in.BinarySameBytes
	if errDisk != nil && mi.argv0 != "" && old.Argv0Problem == "" {
		old.Argv0ProblemWhy = argv0Problem(old.PID, mi, errDisk)
		old.Argv0Problem = old.Argv0ProblemWhy.String()
	}
	in.Phase = model.DerivePhase(*in)
}

// current is the master whose binary counts as running: the new one during an upgrade.
func current(in model.Instance) model.Master {
	return in.Masters[len(in.Masters)-1]
}

func (s *Scanner) completeMaster(m *model.Master, first bool, ids statMemo) {
	mi := s.info(m.Process)
	m.Argv = mi.argv
	m.Version = mi.version
	m.Exe = mi.exeLink
	if mi.exeLink != "" {
		exe := fmt.Sprintf("/proc/%d/exe", m.PID)
		running, err1 := ids.stat(exe)
		onDisk, err2 := ids.stat(mi.exeLink)
		m.ExeReplaced = err1 == nil && (err2 != nil || !running.sameFile(onDisk) && !s.sameBytes(running, exe, onDisk, mi.exeLink))
	}
	if first {
		m.SignalsIgnoredWhy = signalsIgnored(*m, mi)
		m.SignalsIgnored = m.SignalsIgnoredWhy.String()
	}
}

// signalsIgnored says why nginx would ignore USR2 and WINCH sent to this master. nginx acts on
// WINCH only when daemonized, and on USR2 only once its parent changed, which daemonizing
// guarantees. With daemon on, a master is daemonized whether it forked itself or was started by
// USR2 (it inherits the flag), so the config's daemon directive decides.
func signalsIgnored(m model.Master, mi *masterInfo) model.Reason {
	if !mi.daemonOff {
		return model.Reason{}
	}
	return model.Because("master %d runs with daemon off (parent %d): nginx ignores SIGWINCH, and SIGUSR2 while its "+
		"first parent lives. Restart it daemonized (daemon on; systemd Type=forking) to upgrade in place", m.PID, m.PPID)
}

func argv0Problem(pid int, mi *masterInfo, err error) model.Reason {
	var why any = model.Because("does not exist")
	if !errors.Is(err, fs.ErrNotExist) {
		why = err.Error()
	}
	return model.Because("master %d was started as %q, which resolves to %s in its working directory and %s: "+
		"nginx execs argv[0] on SIGUSR2 without a PATH search, so the new binary could not start. "+
		"Restart nginx once by its absolute path (%s)", pid, mi.args.Argv0, mi.argv0, why, firstNonEmpty(mi.exeLink, "/usr/sbin/nginx"))
}

// readPidFile returns the pid a pid file holds.
func ReadPidFile(path string) (int, error) {
	if path == "" {
		return 0, model.Because("empty pid file path").Err()
	}
	// Stat first: a FIFO would block the open, and /dev/zero never ends.
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, model.Because("pid file %s is not a regular file (%s)", path, st.Mode().Type()).Err()
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPidFile+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxPidFile {
		return 0, model.Because("pid file %s is larger than %d bytes: not a pid file", path, maxPidFile).Err()
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, model.Because("pid file %s is empty", path).Err()
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, model.Because("pid file %s does not hold a pid: %q", path, FirstLine(s)).Err()
	}
	return pid, nil
}

// maxPidFile bounds what is read of a pid file: a pid and a newline take at most a dozen bytes.
const maxPidFile = 64

// pidFileWarning says what is wrong with the instance's pid file: missing (nginx, systemd's
// PIDFile= and `nginx -s` find the master through it), unreadable, or naming a process that is
// no master of the instance (stale, e.g. left by a killed nginx). "" when it is right or when
// nginx itself has it renamed to .oldbin for an upgrade.
func pidFileWarning(in model.Instance, err error) model.Reason {
	switch {
	case in.PidFile == "" || len(in.Hidden) > 0:
		return model.Reason{}
	case in.PidFilePID == 0 && in.OldbinPID != 0 && (in.New() == nil || in.New().ActiveWorkers() == 0):
		return model.Reason{} // renamed to .oldbin by SIGUSR2 until the new master writes its own
	case errors.Is(err, fs.ErrNotExist):
		return model.Because("pid file %s is missing: `nginx -s`, systemd and scripts cannot find master %d; "+
			"an upgrade by hotdeploy writes it again", in.PidFile, in.Masters[0].PID)
	case err != nil:
		return model.Because("pid file %s cannot be read: %v", in.PidFile, err)
	}
	for _, m := range in.Masters {
		if m.PID == in.PidFilePID {
			return model.Reason{}
		}
	}
	return model.Because("pid file %s is stale: it names pid %d, which is no master of this instance (master %d)",
		in.PidFile, in.PidFilePID, in.Masters[0].PID)
}

// sameBytes tells whether two files hold the same content (a restored copy of a running binary
// is not a replaced one); digests are kept per file content, so a refresh hashes nothing twice.
func (s *Scanner) sameBytes(a fileID, pathA string, b fileID, pathB string) bool {
	if a.size != b.size {
		return false
	}
	da, err1 := s.bins.digestOf(a, pathA)
	db, err2 := s.bins.digestOf(b, pathB)
	return err1 == nil && err2 == nil && da == db
}
