package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// TestNginxctlReasonsInChinese: what nginxctl says reaches a zh-CN screen in Chinese, one of each
// kind: a step's failure (with a reason inside it and its progress lines), a refusal because the
// master ignores signals, a scan's note and the probe's error; the same model in English shows
// nginxctl's English sentence, which stays what the command line and JSON print.
func TestNginxctlReasonsInChinese(t *testing.T) {
	// The probe's error comes from the probe itself: a URL it cannot probe (no network).
	_, perr := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: "ftp://127.0.0.1/", LoopbackOnly: true})
	if perr == nil || model.ReasonOf(perr).Code == "" {
		t.Fatalf("StartProbe(ftp://) = %v: want an error that is a reason", perr)
	}
	daemonOff := model.Because("master %d runs with daemon off (parent %d): nginx ignores SIGWINCH, and SIGUSR2 while its "+
		"first parent lives. Restart it daemonized (daemon on; systemd Type=forking) to upgrade in place", 1000, 1)
	orphans := model.Because("%d nginx processes have no master and belong to no running instance (pids %v): "+
		"workers among them still accept connections; end them by pid if they are not wanted", 2, []int{4001, 4002})
	exited := model.Because("the new master %d exited: %s", 2000, model.Because("no reason in the error log"))
	progress := model.Because("%s sent to %s %d", "SIGUSR2", model.RoleMaster, 1000)

	for _, tc := range []struct {
		lang Lang
		want []string // step failure, its progress line, refusal, note, probe error
	}{
		{LangChinese, []string{"新 master 2000 已退出：错误日志中没有原因", "已发送 SIGUSR2 给 master 1000",
			"master 1000 以 daemon off 运行（父进程 1）", "2 个 nginx 进程没有 master", "只能探测 http:// 和 https:// 的 URL"}},
		{LangEnglish, []string{exited.String(), progress.String(), daemonOff.String(), orphans.String(), perr.Error()}},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			in := installedInstance()
			in.Masters[0].SignalsIgnoredWhy = daemonOff
			in.Masters[0].SignalsIgnored = daemonOff.String()
			src := newFakeSource(in)
			src.snap.Note(orphans)
			snap, _ := src.Scan()
			m := New(Options{Lang: tc.lang}, Deps{Source: src, Actor: &fakeActor{}, Clock: fixedClock{t0},
				ProbeErr: perr.Error(), ProbeErrWhy: model.ReasonOf(perr)}, &snap)
			m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})

			se := &upgrade.StepError{Step: "upgrade", Reason: exited.String(), Why: exited}
			m = update(t, m, stepDoneMsg{action: model.ActUpgrade,
				res: StepResult{Lines: []string{progress.String()}, Whys: []model.Reason{progress}, Err: se}})
			if m.output == nil || !strings.Contains(m.output.title, tc.want[0]) {
				t.Errorf("step failure: %+v, want %q in its title", m.output, tc.want[0])
			} else if len(m.output.lines) == 0 || m.output.lines[0] != tc.want[1] && !strings.Contains(m.output.lines[0], tc.want[1]) {
				t.Errorf("step's lines %q, want %q first", m.output.lines, tc.want[1])
			}

			m, _ = press(t, m, "u")
			if m.flash == nil || !strings.Contains(m.flash.text, tc.want[2]) {
				t.Errorf("refusal: %+v, want %q", m.flash, tc.want[2])
			}
			m.flash = nil

			if line, _ := m.statusLine(); !strings.Contains(line, tc.want[3]) {
				t.Errorf("status line %q, want the note %q", line, tc.want[3])
			}
			if probe := strings.Join(m.renderProbe(200, false), "\n"); !strings.Contains(probe, tc.want[4]) {
				t.Errorf("probe panel %q, want %q", probe, tc.want[4])
			}
		})
	}
}

// TestSayReasonArgs: a reason's arguments that are reasons, or errors carrying one, are said in
// the screen's language; other errors stay as they are.
func TestSayReasonArgs(t *testing.T) {
	zh := newTranslator(LangChinese)
	inner := model.Because("no candidate binary given").Err()
	got := zh.sayReason(model.Because("%v: fix it before sending %s", inner, "SIGUSR2"))
	if want := "没有给出候选二进制：发送 SIGUSR2 之前请先修复"; got != want {
		t.Errorf("nested error reason: %q, want %q", got, want)
	}
	plain := errors.New("disk full")
	got = zh.sayReason(model.Because("%v: fix it before sending %s", plain, "SIGUSR2"))
	if want := "disk full：发送 SIGUSR2 之前请先修复"; got != want {
		t.Errorf("plain error: %q, want %q", got, want)
	}
	// A role or a process named inside a sentence: English on the command line; here nginx's
	// own words master and worker stay (as the Chinese sentences say them), the others are
	// said in Chinese.
	ref := model.Process{PID: 1234, Comm: "nginx", Role: model.RoleWorker}.Ref()
	got = zh.sayReason(model.Because("send %s to %s: %w", "SIGQUIT", ref, errors.New("operation not permitted")))
	if want := "无法发送 SIGQUIT 给 nginx worker（pid 1234）：operation not permitted"; got != want {
		t.Errorf("a process in a sentence: %q, want %q", got, want)
	}
	got = zh.sayReason(model.Because("%s sent to %s %d", "SIGQUIT", model.RoleCacheManager, 1003))
	if want := "已发送 SIGQUIT 给 缓存管理进程 1003"; got != want {
		t.Errorf("a role in a sentence: %q, want %q", got, want)
	}
	if got := newTranslator(LangEnglish).sayReason(model.Because("send %s to %s: %w", "SIGQUIT", ref, errors.New("x"))); got != "send SIGQUIT to nginx worker pid 1234: x" {
		t.Errorf("English: %q", got)
	}
	// A phase named inside a sentence is said by what it means; in English it stays its name.
	busy := model.Because("an upgrade is running (%s): finish it with commit or roll back first", model.PhaseOldDraining)
	if got := zh.sayReason(busy); strings.Contains(got, "old-draining") || !strings.Contains(got, zh.T(phaseHint[model.PhaseOldDraining])) {
		t.Errorf("a phase in a sentence: %q", got)
	}
	if got := newTranslator(LangEnglish).sayReason(busy); !strings.Contains(got, "(old-draining)") {
		t.Errorf("English: %q", got)
	}
	wrapped := fmt.Errorf("step: %w", inner)
	if r := model.ReasonOf(wrapped); r.Code != "" {
		t.Errorf("ReasonOf(%q) = %v: an error that adds words is not its inner reason", wrapped, r)
	}
}
