package ui

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The crash-on-start scenario needs a candidate that passes `-v` and `-t` like nginx but whose
// master dies at once, made on a host without a compiler, and an ELF file (candidates are
// checked). The hotdeploy binary itself is that candidate: `demo --scenario crash-on-start`
// copies it into the sandbox and appends a trailer past its ELF segments (the loader never reads
// it) naming a private copy of the real nginx and the sandbox's error log. Started from such a
// copy under the name nginx (or the name of the copy an install checks), hotdeploy answers -v, -V, -t, -T, -h and -s by exec'ing that nginx,
// and otherwise, which is how nginx starts it after SIGUSR2, writes an [emerg] line to the error
// log and exits 1.
//
// It cannot act by accident: the trailer is in no released binary (only this scenario writes it,
// into a copy in a sandbox's temporary prefix), and argv[0] must name nginx as well.

// candidateMagic starts the trailer's line.
const candidateMagic = "hotdeploy-demo-candidate/1"

func init() {
	if c, ok := demoCandidateSelf(); ok {
		os.Exit(c.run(os.Args))
	}
}

// demoCandidate is what a trailer says.
type demoCandidate struct {
	mode, nginx, errorLog string
}

// trailer is the line appended to a copy of hotdeploy.
func (c demoCandidate) trailer() string {
	enc := base64.RawURLEncoding.EncodeToString
	return fmt.Sprintf("\n%s %s %s %s\n", candidateMagic, c.mode, enc([]byte(c.nginx)), enc([]byte(c.errorLog)))
}

// demoCandidateSelf reads the trailer of the running executable, if it has one and was started
// as nginx.
func demoCandidateSelf() (demoCandidate, bool) {
	if len(os.Args) == 0 || !nginxName(filepath.Base(os.Args[0])) {
		return demoCandidate{}, false
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return demoCandidate{}, false
	}
	defer f.Close()
	return readTrailer(f)
}

func readTrailer(f *os.File) (demoCandidate, bool) {
	st, err := f.Stat()
	if err != nil || st.Size() < 64 {
		return demoCandidate{}, false
	}
	n := min(st.Size(), 4096)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, st.Size()-n); err != nil && err != io.EOF {
		return demoCandidate{}, false
	}
	// The trailer is among the last lines: the demo appends a marker after each install, to
	// make the next candidate a build of its own.
	var f4 []string
	lines := strings.Split(string(buf), "\n")
	for i := len(lines) - 1; i >= max(len(lines)-8, 1); i-- {
		if strings.HasPrefix(lines[i], candidateMagic+" ") {
			f4 = strings.Fields(lines[i])
			break
		}
	}
	if len(f4) != 4 || f4[1] != scenarioCrashOnStart {
		return demoCandidate{}, false
	}
	dec := base64.RawURLEncoding.DecodeString
	nginx, err1 := dec(f4[2])
	errLog, err2 := dec(f4[3])
	if err1 != nil || err2 != nil || !filepath.IsAbs(string(nginx)) {
		return demoCandidate{}, false
	}
	return demoCandidate{mode: f4[1], nginx: string(nginx), errorLog: string(errLog)}, true
}

// nginxName tells whether a program name is nginx's: "nginx", or the copy hotdeploy stages
// beside the binary to check before it installs it (".nginx.hotdeploy-<random>").
func nginxName(base string) bool {
	return base == "nginx" || strings.HasPrefix(base, ".nginx.hotdeploy-")
}

// run answers as the candidate: nginx's own answer to a question (-v, -t, …), else a crash.
func (c demoCandidate) run(argv []string) int {
	if asksNginx(argv[1:]) {
		err := syscall.Exec(c.nginx, append([]string{c.nginx}, argv[1:]...), os.Environ())
		fmt.Fprintf(os.Stderr, "hotdeploy demo candidate: exec %s: %v\n", c.nginx, err)
		return 1
	}
	msg := "hotdeploy demo candidate (crash-on-start): this build exits at once instead of starting a master, as a build that cannot start would"
	// nginx's stderr is its error log once it runs; a line of its own format says who exits.
	f, err := os.OpenFile(c.errorLog, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		pid := os.Getpid()
		_, err = fmt.Fprintf(f, "%s [emerg] %d#%d: %s\n", time.Now().Format("2006/01/02 15:04:05"), pid, pid, msg)
		err = closeJoin(f, err)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nginx: [emerg] "+msg)
	}
	return 1
}

// asksNginx tells whether nginx's options ask a question (version, config test, help) or send
// a signal (-s), rather than start a master. The values of -p, -c, -e and -g are skipped.
func asksNginx(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		switch a {
		case "-p", "-c", "-e", "-g":
			i++
			continue
		}
		if strings.ContainsAny(a[1:], "vVtThs?") {
			return true
		}
	}
	return false
}
