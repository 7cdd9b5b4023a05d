// Package traffic is what the clients see while nginx is upgraded: a bounded probe of a URL,
// a held slow download, and the client connections each worker holds.
//
// Its front doors:
//   - StartProbe returns a Probe that paces requests (ProbeOptions.Mode: a fresh connection
//     each, or kept-alive connections) and counts what came back by kind and by phase
//     (MarkPhase); Stats copies the counts, FailuresSince is the headless upgrade's gate, and
//     NewProbeReport shapes the counts as the result's `probe` object.
//   - HoldConnection keeps one download open on a worker, so that it has something to drain.
//   - ConnCounter counts the established client connections of each worker.
//
// Inside, each large job is split along its seam: the probe's request loop (probe.go, with
// its clients in probenet.go and keepalive.go) hands outcomes to the tally (tally.go), which
// keeps the statistics and does no I/O; the connection counter (conns.go) joins a kernel
// socket dump (connsdump.go over sockdiag.go) with the matching of sockets to workers
// through their descriptor tables (sockowners.go).
package traffic
