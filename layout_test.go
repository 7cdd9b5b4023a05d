package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/hotdeploy/hotdeploy"

// allowedImports is the layout of the README: which of the project's packages each package may
// import (test files aside). Dependencies point one way, from the screen down to model; a
// package missing here may import nothing of the project.
var allowedImports = map[string][]string{
	"":                               {"ui", "model", "assets", "nginxctl/*"},
	"ui":                             {"model", "assets", "nginxctl/*"},
	"model":                          {},
	"assets":                         {},
	"nginxctl/proc":                  {"model"},
	"nginxctl/supervisor":            {"model"},
	"nginxctl/supervisor/nspawntest": {"nginxctl/supervisor"},
	"assets/ansible/fleettest":       {},
	"nginxctl/audit":                 {"model"},
	"nginxctl/driver":                {"model", "nginxctl/proc"},
	"nginxctl/inspect":               {"model", "nginxctl/proc", "nginxctl/supervisor"},
	"nginxctl/traffic":               {"model"},
	"nginxctl/upgrade":               {"model", "nginxctl/proc", "nginxctl/inspect", "nginxctl/audit", "nginxctl/driver", "nginxctl/traffic", "nginxctl/supervisor"},
	"nginxctl/sandbox":               {"model", "assets", "nginxctl/proc", "nginxctl/inspect"},
	"nginxctl/sandbox/sandboxtest":   {"model", "nginxctl/proc", "nginxctl/inspect", "nginxctl/sandbox"},
	"nginxctl/traffic/traffictest":   {"nginxctl/traffic"},
	"nginxctl/upgrade/upgradetest": {"model", "nginxctl/inspect", "nginxctl/audit", "nginxctl/sandbox",
		"nginxctl/sandbox/sandboxtest", "nginxctl/traffic", "nginxctl/upgrade"},
	// The chaos suite: its cases are test files; its one non-test file (the counts) imports
	// nothing of the project, so package upgrade's own chaos case can share it.
	"nginxctl/upgrade/chaostest": {},
}

// testSupport are the packages only tests may import: the binary must not carry them.
func testSupport(pkg string) bool { return strings.HasSuffix(pkg, "test") }

// goList returns each package of the module with the project packages it imports (not counting
// its test files), both relative to the module ("" for the module root).
func goList(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg, ok := relative(f[0])
		if !ok {
			continue
		}
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if rel, ok := relative(imp); ok {
				graph[pkg] = append(graph[pkg], rel)
			}
		}
	}
	return graph
}

func relative(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// allowed tells whether pkg may import imp under rules.
func allowed(rules map[string][]string, pkg, imp string) bool {
	for _, a := range rules[pkg] {
		if a == imp {
			return true
		}
		if prefix, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(imp, prefix+"/") && !testSupport(imp) {
			return true
		}
	}
	return false
}

// badEdges lists the imports of graph that rules do not allow, as "pkg -> imp".
func badEdges(rules map[string][]string, graph map[string][]string) []string {
	var bad []string
	for pkg, imps := range graph {
		if _, known := rules[pkg]; !known {
			bad = append(bad, pkg+": a package the layout does not name (add it to allowedImports and the README)")
			continue
		}
		for _, imp := range imps {
			if !allowed(rules, pkg, imp) {
				bad = append(bad, pkg+" -> "+imp)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// TestImportGraphFollowsTheLayout reads the real import graph and fails on any edge the layout
// does not allow, and on any test-support package in the binary.
func TestImportGraphFollowsTheLayout(t *testing.T) {
	graph := goList(t, "./...")
	if len(graph) < len(allowedImports) {
		t.Fatalf("go list saw %d packages, fewer than the %d the layout names: %v", len(graph), len(allowedImports), graph)
	}
	for _, e := range badEdges(allowedImports, graph) {
		t.Errorf("import not allowed by the layout: %s", e)
	}
	for pkg := range goList(t, "-deps", ".") {
		if testSupport(pkg) {
			t.Errorf("the binary carries the test-support package %s", pkg)
		}
	}
}

// TestBadEdgesCatchesWrongImports shows the check failing on the imports it exists to catch.
func TestBadEdgesCatchesWrongImports(t *testing.T) {
	for _, tc := range []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{"model imports nothing", map[string][]string{"model": {"nginxctl/inspect"}}, []string{"model -> nginxctl/inspect"}},
		{"inspect does not change nginx", map[string][]string{"nginxctl/inspect": {"nginxctl/upgrade"}}, []string{"nginxctl/inspect -> nginxctl/upgrade"}},
		{"nothing below imports ui", map[string][]string{"nginxctl/upgrade": {"ui"}}, []string{"nginxctl/upgrade -> ui"}},
		{"traffic stands alone", map[string][]string{"nginxctl/traffic": {"nginxctl/inspect"}}, []string{"nginxctl/traffic -> nginxctl/inspect"}},
		{"ui may not use test support", map[string][]string{"ui": {"nginxctl/sandbox/sandboxtest"}}, []string{"ui -> nginxctl/sandbox/sandboxtest"}},
		{"an unknown package", map[string][]string{"nginxctl/misc": {"model"}}, []string{"nginxctl/misc: a package the layout does not name (add it to allowedImports and the README)"}},
		{"allowed edges pass", map[string][]string{"nginxctl/upgrade": {"nginxctl/inspect", "model"}, "ui": {"nginxctl/traffic"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := badEdges(allowedImports, tc.graph)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("badEdges = %q, want %q", got, tc.want)
			}
		})
	}
}
