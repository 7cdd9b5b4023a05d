package inspect

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"simple", "pid /run/nginx.pid;", []string{"pid", "/run/nginx.pid", ";"}},
		{"whitespace of every kind", "worker_processes\t4 ;\r\n", []string{"worker_processes", "4", ";"}},
		{"comments", "# head\npid a; # tail ; {\n#last", []string{"pid", "a", ";"}},
		{"hash inside a word is not a comment", "error_log /l/a#b.log;", []string{"error_log", "/l/a#b.log", ";"}},
		{"double quotes keep spaces and punctuation", `error_log "/l/x y;{}.log" info;`,
			[]string{"error_log", "/l/x y;{}.log", "info", ";"}},
		{"single quotes", `env 'A=b c';`, []string{"env", "A=b c", ";"}},
		{"hash inside quotes", `pid "/r/#p";`, []string{"pid", "/r/#p", ";"}},
		{"escaped quote inside quotes", `env "a\"b" 'c\'d';`, []string{"env", `a"b`, `c'd`, ";"}},
		{"empty quoted word", `env "";`, []string{"env", "", ";"}},
		{"quote inside a word is a character", `env it's;`, []string{"env", "it's", ";"}},
		{"escapes nginx knows", `x a\\b a\tb a\"b;`, []string{"x", `a\b`, "a\tb", `a"b`, ";"}},
		{"other backslash pairs are kept", `x ~\.php$ a\;b;`, []string{"x", `~\.php$`, `a\;b`, ";"}},
		{"blocks", "events{worker_connections 8;}", []string{"events", "{", "worker_connections", "8", ";", "}"}},
		{"unterminated quote runs to the end", `pid "/a b`, []string{"pid", "/a b"}},
		{"trailing backslash", `pid a\`, []string{"pid", `a\`}},
		{"nothing", " \n# only a comment", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokenize(tt.in)
			if len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokenize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTopLevel(t *testing.T) {
	conf := `
user www-data;
worker_processes auto;   # a comment { that opens nothing
pid /run/a.pid;
events { worker_connections 768; }
http {
    error_log /var/log/in-http.log;
    server { listen 80; location / { pid /not/top.pid; } }
    include /etc/nginx/conf.d/*.conf;
}
error_log "/var/log/top level.log" warn;
daemon off;
stray }
master_process;
load_module modules/x.so`
	want := []directive{
		{"user", []string{"www-data"}},
		{"worker_processes", []string{"auto"}},
		{"pid", []string{"/run/a.pid"}},
		{"error_log", []string{"/var/log/top level.log", "warn"}},
		{"daemon", []string{"off"}},
		{"master_process", []string{}},
	}
	got := topLevel(conf)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("topLevel\n got %q\nwant %q", got, want)
	}
	if lastArg(got, "pid") != "/run/a.pid" || lastArg(got, "error_log") != "/var/log/top level.log" ||
		lastArg(got, "missing") != "" || lastArg(got, "master_process") != "" {
		t.Errorf("lastArg over %q is wrong", got)
	}
}

func TestMainDirectivesFollowsTopLevelIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Relative includes resolve against the main config's directory, also from inside an included
	// file (nginx's conf prefix), and a glob expands in name order.
	write("nginx.conf", `
worker_processes 2;
include main.d/*.conf;
include `+filepath.Join(dir, "abs.conf")+`;
include missing/*.conf;
include nginx.conf;
http { include http.d/*.conf; }
error_log logs/top.log;
`)
	write("main.d/10-pid.conf", "pid from-main-d.pid;\ninclude nested/deep.conf;\n")
	write("main.d/20-daemon.conf", "daemon on;\n")
	write("main.d/ignored.txt", "pid not-a-conf-match.pid;\n")
	write("nested/deep.conf", "env DEEP=1;\n")
	write("abs.conf", "include abs.conf;\nworker_rlimit_nofile 1024;\n")
	write("http.d/server.conf", "pid in-http-block.pid;\n")

	got := mainDirectives(filepath.Join(dir, "nginx.conf"), "pid /from/g.pid; daemon off;")
	var names []string
	for _, d := range got {
		names = append(names, d.name+" "+strings.Join(d.args, " "))
	}
	want := []string{
		"worker_processes 2",
		"pid from-main-d.pid",
		"env DEEP=1",
		"daemon on",
		"worker_rlimit_nofile 1024",
		"error_log logs/top.log",
		"pid /from/g.pid",
		"daemon off",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("mainDirectives\n got %q\nwant %q", names, want)
	}
	if lastArg(got, "pid") != "/from/g.pid" || lastArg(got, "daemon") != "off" {
		t.Errorf("the -g directives must come last: pid %q daemon %q", lastArg(got, "pid"), lastArg(got, "daemon"))
	}
}

func TestMainDirectivesWithoutFile(t *testing.T) {
	got := mainDirectives(filepath.Join(t.TempDir(), "absent.conf"), "daemon off;")
	if want := []directive{{"daemon", []string{"off"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("missing file: got %q, want only the -g directives %q", got, want)
	}
	if got := mainDirectives("", ""); len(got) != 0 {
		t.Errorf("no file, no -g: got %q", got)
	}
}
