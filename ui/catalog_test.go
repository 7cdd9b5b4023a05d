package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/assets"
	"github.com/hotdeploy/hotdeploy/model"
)

// messageCalls says, for each part of the source, which calls carry a message and at which
// argument: T and N in ui (and model.Because, for a reason ui builds); in model the reasons' formats (model/reason.go); in nginxctl the
// reasons it builds for the screen with model.Because, directly or through a step error's
// because and the step watchers' fail.
var messageCalls = map[string]map[string]int{
	".":           {"T": 0, "N": 0, "Because": 0},
	"../model":    {"refuse": 1, "allowWarning": 1, "because": 0, "effect": 0, "irreversible": 0},
	"../nginxctl": {"Because": 0, "because": 0, "fail": 0},
}

// wrapsFormats are the parts whose message calls must pass a literal, unless the call is inside
// a function that is itself a message call there (a wrapper such as fail, whose callers'
// literals are collected): a format built at run time is a code no catalogue can hold.
var wrapsFormats = map[string]bool{"../model": true, "../nginxctl": true}

// sourceFiles lists the non-test Go files of a part of the source, its subdirectories included
// for nginxctl.
func sourceFiles(t *testing.T, root string) []string {
	t.Helper()
	if root == "." {
		files, err := filepath.Glob("*.go")
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// callName is the name a call is made by: f(...) or x.f(...).
func callName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		return fn.Sel.Name
	case *ast.Ident:
		return fn.Name
	}
	return ""
}

// enclosingName is the name of the innermost function in stack: a declared function, or a
// function literal assigned to a name (fail := func(...)).
func enclosingName(stack []ast.Node) string {
	for i := len(stack) - 1; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *ast.FuncDecl:
			return n.Name.Name
		case *ast.FuncLit:
			if i > 0 {
				if as, ok := stack[i-1].(*ast.AssignStmt); ok && len(as.Lhs) == 1 {
					if id, ok := as.Lhs[0].(*ast.Ident); ok {
						return id.Name
					}
				}
			}
			return ""
		}
	}
	return ""
}

// screenMessages collects every message the screen draws: each literal message argument in ui's,
// model's and nginxctl's source, and the titles of model's actions and the names of roles and
// failure kinds the screen translates. A message call in model or nginxctl whose format is not
// a literal, outside a wrapper, fails the test.
func screenMessages(t *testing.T) map[string]string {
	t.Helper()
	msgs := map[string]string{}
	fset := token.NewFileSet()
	for root, calls := range messageCalls {
		for _, f := range sourceFiles(t, root) {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			var stack []ast.Node
			ast.Inspect(file, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				at, ok := calls[callName(call)]
				if !ok || len(call.Args) <= at {
					return true
				}
				if s, ok := literal(call.Args[at]); ok {
					msgs[s] = fset.Position(call.Args[at].Pos()).String()
				} else if _, wrapper := calls[enclosingName(stack)]; wrapsFormats[root] && !wrapper {
					t.Errorf("%s: %s's message is not a literal: the catalogue cannot hold it",
						fset.Position(call.Args[at].Pos()), callName(call))
				}
				return true
			})
		}
	}
	for _, a := range model.Actions {
		msgs[a.Title()] = "model.Action.Title"
	}
	for _, r := range []model.Role{model.RoleMaster, model.RoleWorker, model.RoleCacheManager, model.RoleCacheLoader} {
		msgs[r.String()] = "model.Role"
	}
	for _, k := range []string{"refused", "reset", "timeout", "non-2xx", "other"} {
		msgs[k] = "traffic.FailureKinds"
	}
	return msgs
}

func zhCatalogue(t *testing.T) map[string]string {
	t.Helper()
	raw, err := assets.FS.ReadFile("i18n/zh-CN.json")
	if err != nil {
		t.Fatal(err)
	}
	var zh map[string]string
	if err := json.Unmarshal(raw, &zh); err != nil {
		t.Fatalf("assets/i18n/zh-CN.json: %v", err)
	}
	return zh
}

// TestCatalogue: every message of the screen has its Chinese translation, with the same verbs
// in the same order (fmt fills them in), and the catalogue holds nothing the screen no longer
// says. Run with HOTDEPLOY_CATALOGUE_TODO=file to write the missing ones there.
func TestCatalogue(t *testing.T) {
	if _, err := catalogues(); err != nil {
		t.Fatal(err)
	}
	msgs, zh := screenMessages(t), zhCatalogue(t)
	var missing []string
	for m, where := range msgs {
		tr, ok := zh[m]
		if !ok {
			missing = append(missing, m)
			t.Errorf("%s: no zh-CN translation of %q", where, m)
			continue
		}
		if a, b := verbs(m), verbs(tr); a != b {
			t.Errorf("zh-CN %q: verbs %q, English %q has %q", tr, b, m, a)
		}
	}
	for m := range zh {
		if _, ok := msgs[m]; !ok {
			t.Errorf("assets/i18n/zh-CN.json: %q is not said by the screen any more", m)
		}
	}
	if path := os.Getenv("HOTDEPLOY_CATALOGUE_TODO"); path != "" && len(missing) > 0 {
		sort.Strings(missing)
		todo := map[string]string{}
		for _, m := range missing {
			todo[m] = ""
		}
		b, _ := json.MarshalIndent(todo, "", "  ")
		_ = os.WriteFile(path, b, 0o644)
	}
}

// literal is the value of a string literal, or of literals joined with +.
func literal(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		a, ok1 := literal(e.X)
		b, ok2 := literal(e.Y)
		return a + b, ok1 && ok2 && e.Op == token.ADD
	case *ast.ParenExpr:
		return literal(e.X)
	}
	return "", false
}

// verbs lists a format's printf verbs in order.
func verbs(format string) string {
	var out []string
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("0123456789.-+# ", format[j]) >= 0 {
			j++
		}
		if j < len(format) {
			out = append(out, format[i:j+1])
		}
		i = j
	}
	return strings.Join(out, " ")
}
