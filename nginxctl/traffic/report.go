package traffic

import (
	"fmt"
	"strconv"
	"strings"
)

// ProbeReport is the probe's part of a headless result, the `probe` object of DESIGN.md:
//
//	{"mode":"fresh","phases":{"usr2":{"ok":0,"refused":0,"reset":0,"timeout":0,"http_5xx":0},
//	 "winch":{…},"quit":{…}}, …}
//
// usr2, winch and quit are always there (zero when the run never reached them); other phases a
// caller marked (before, hup, …) are added beside them.
type ProbeReport struct {
	Mode   string                 `json:"mode"`
	Phases map[string]PhaseCounts `json:"phases"`
	// Sent is OK plus Failed: every request whose outcome is known.
	Sent        int64 `json:"sent"`
	OK          int64 `json:"ok"`
	Failed      int64 `json:"failed"`
	Retried     int64 `json:"retried"`
	RetriedOK   int64 `json:"retried_ok"`
	Connections int64 `json:"connections"`
	// Note explains keep-alive resets: why nginx reset them, and what removes them.
	Note string `json:"note,omitempty"`
}

// reportPhases are the phases every report names.
var reportPhases = []string{"usr2", "winch", "quit"}

// NewProbeReport shapes the stats for the result. nginxVersion (as `nginx -v` or the result's
// build says it, e.g. "nginx/1.22.1") picks the note given when keep-alive requests were reset.
func NewProbeReport(s ProbeStats, nginxVersion string) ProbeReport {
	r := ProbeReport{
		Mode: s.Mode, Phases: map[string]PhaseCounts{},
		Sent: s.OK + s.Failed, OK: s.OK, Failed: s.Failed,
		Retried: s.Retried, RetriedOK: s.RetriedOK, Connections: s.Connections,
	}
	for _, name := range reportPhases {
		r.Phases[name] = PhaseCounts{}
	}
	for _, c := range s.Phases {
		r.Phases[c.Name] = c
	}
	if s.Mode == ModeKeepAlive && s.Failures[FailReset] > 0 {
		r.Note = KeepaliveRaceNote(nginxVersion)
	}
	return r
}

// KeepaliveRaceNote is the sentence to print beside keep-alive resets seen during an upgrade,
// for the nginx version that ran ("nginx/1.22.1", "nginx version: nginx/1.27.4", "1.26.2";
// OpenResty's first three numbers are its nginx core). A worker that shuts down (WINCH, QUIT,
// the HUP of a rollback) closes its idle keep-alive connections at once, and a request a client
// sent at that instant is reset (nginx trac #1022, wontfix); nginx 1.27.4 added
// keepalive_min_timeout, which keeps such connections open long enough to answer.
func KeepaliveRaceNote(version string) string {
	const race = "a worker shutting down closes its idle keep-alive connections, and a request sent at that instant is reset (nginx trac #1022); clients that retry an idempotent request on a fresh connection recover"
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(version), "nginx version:"))
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	name, num, ok := strings.Cut(v, "/")
	if !ok {
		name, num = "nginx", v
	}
	nums, good := versionNumbers(num)
	if !good || (name != "nginx" && name != "openresty") {
		shown := strings.TrimSpace(version)
		if shown == "" {
			shown = "unknown"
		}
		return fmt.Sprintf("nginx version %s: whether it has keepalive_min_timeout (nginx 1.27.4 and later) is not known; without it %s", shown, race)
	}
	if lessThan(nums, []int{1, 27, 4}) {
		return fmt.Sprintf("%s lacks keepalive_min_timeout (nginx 1.27.4 and later): %s", v, race)
	}
	return fmt.Sprintf("%s has keepalive_min_timeout: unless it is set (e.g. keepalive_min_timeout 1s;), %s", v, race)
}

// versionNumbers parses the first three dot-separated numbers of "1.22.1" (missing ones are 0).
func versionNumbers(s string) ([]int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, false
	}
	out := make([]int, 3)
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func lessThan(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
