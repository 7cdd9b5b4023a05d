package inspect

import (
	"reflect"
	"testing"
)

func TestArgvFromTitle(t *testing.T) {
	tests := []struct {
		title string
		want  []string
	}{
		{"nginx: master process /usr/sbin/nginx", []string{"/usr/sbin/nginx"}},
		{"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
			[]string{"/usr/sbin/nginx", "-g", "daemon", "on;", "master_process", "on;"}},
		{"angie: master process ./sbin/angie  -c  conf/a.conf", []string{"./sbin/angie", "-c", "conf/a.conf"}},
		{"nginx: master process nginx", []string{"nginx"}},
		{"nginx: master process", nil},
		{"nginx: worker process", nil},
		{"nginx: worker process is shutting down", nil},
		{"/usr/sbin/nginx -g daemon off;", nil}, // not yet retitled
		{"", nil},
		{"angie: master process v1.11.3 #1 [/usr/sbin/angie -c /etc/angie/angie.conf]",
			[]string{"/usr/sbin/angie", "-c", "/etc/angie/angie.conf"}},
		{"angie: master process v1.11.3 (PRO) #4 [/usr/sbin/angie -g daemon on;]", []string{"/usr/sbin/angie", "-g", "daemon", "on;"}},
		{"angie: master process v1.11.3 #1 [/usr/sbin/angie -c /a/very/long/path", []string{"/usr/sbin/angie", "-c", "/a/very/long/path"}},
		{"nginx: master process /usr/local/openresty/nginx/sbin/nginx -p /usr/local/openresty/nginx/",
			[]string{"/usr/local/openresty/nginx/sbin/nginx", "-p", "/usr/local/openresty/nginx/"}},
	}
	for _, tt := range tests {
		got := argvFromTitle(tt.title)
		if len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("argvFromTitle(%q) = %q, want %q", tt.title, got, tt.want)
		}
	}
}

func TestParseMasterArgs(t *testing.T) {
	tests := []struct {
		name  string
		title string
		want  MasterArgs
	}{
		{"bare", "nginx: master process /usr/sbin/nginx", MasterArgs{Argv0: "/usr/sbin/nginx"}},
		{"relative argv0", "nginx: master process nginx", MasterArgs{Argv0: "nginx"}},
		{"separate values",
			"nginx: master process /opt/sbin/nginx -p /srv/p/ -c conf/n.conf -e logs/e.log",
			MasterArgs{Argv0: "/opt/sbin/nginx", Prefix: "/srv/p/", Conf: "conf/n.conf", ErrorLog: "logs/e.log"}},
		{"attached values",
			"nginx: master process /opt/sbin/nginx -p/srv/p/ -c/etc/n.conf -elogs/e.log",
			MasterArgs{Argv0: "/opt/sbin/nginx", Prefix: "/srv/p/", Conf: "/etc/n.conf", ErrorLog: "logs/e.log"}},
		{"-g with spaces, then an option",
			"nginx: master process /usr/sbin/nginx -g daemon on; master_process on; -c /etc/nginx/nginx.conf",
			MasterArgs{Argv0: "/usr/sbin/nginx", Conf: "/etc/nginx/nginx.conf", Directives: "daemon on; master_process on;"}},
		{"-g attached and last",
			"nginx: master process /usr/sbin/nginx -c /e/n.conf -gpid /run/x.pid; error_log /var/log/x.log info;",
			MasterArgs{Argv0: "/usr/sbin/nginx", Conf: "/e/n.conf", Directives: "pid /run/x.pid; error_log /var/log/x.log info;"}},
		{"two -g options are joined",
			"nginx: master process /usr/sbin/nginx -g daemon on; -q -g worker_processes 4;",
			MasterArgs{Argv0: "/usr/sbin/nginx", Directives: "daemon on; worker_processes 4;"}},
		{"-g directive with a dash argument stays whole",
			"nginx: master process /usr/sbin/nginx -g env -X; worker_priority -5;",
			MasterArgs{Argv0: "/usr/sbin/nginx", Directives: "env -X; worker_priority -5;"}},
		{"flags without values are skipped",
			"nginx: master process /usr/sbin/nginx -q -c /e/n.conf",
			MasterArgs{Argv0: "/usr/sbin/nginx", Conf: "/e/n.conf"}},
		{"last -c wins", "nginx: master process nginx -c a.conf -c b.conf", MasterArgs{Argv0: "nginx", Conf: "b.conf"}},
		{"option missing its value at the end", "nginx: master process nginx -c", MasterArgs{Argv0: "nginx"}},
		{"not a master", "nginx: worker process", MasterArgs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseMasterArgs(argvFromTitle(tt.title)); got != tt.want {
				t.Errorf("ParseMasterArgs(%q)\n got %+v\nwant %+v", tt.title, got, tt.want)
			}
		})
	}
}
