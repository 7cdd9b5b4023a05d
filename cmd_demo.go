package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/hotdeploy/hotdeploy/ui"
)

// Demo scenarios and screen languages the command line accepts (DESIGN.md, issue 16).
var (
	demoScenarios = []string{"none", "broken-config", "crash-on-start", "held-download"}
	demoLangs     = []string{"en", "zh-CN"}
)

func (a *app) demoCmd() *cobra.Command {
	o := ui.DemoOptions{Port: 8080}
	scenario, lang := "none", ""
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Train on a real sandbox nginx: the dashboard, with traffic and a guide",
		Long: `Start a sandbox nginx on a loopback port, in a temporary directory, with a second build of
it as the candidate, and open the dashboard on it with a traffic probe and a step-by-step guide.
Nothing outside the sandbox is touched; quitting stops the sandbox.`,
		Example: "  hotdeploy demo --port 8081",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario != "none" {
				o.Scenario = scenario
			}
			if lang != "" {
				l, err := ui.ParseLang(lang)
				if err != nil {
					return badInputf("--lang %s: want en or zh-CN", lang)
				}
				o.Lang = l
			}
			// The sandbox's guard is this program again (main runs it when GuardEnv is set).
			if exe, err := os.Executable(); err == nil {
				o.GuardExe = exe
			}
			return ui.Demo(o)
		},
	}
	fs := cmd.Flags()
	fs.Var(portValue{&o.Port}, "port", "Serve the sandbox on this loopback port.")
	fs.BoolVar(&o.Keep, "keep", false, "Keep the sandbox directory (config, logs, binaries) after quitting.")
	fs.Var(choiceValue{&scenario, "scenario", "name", demoScenarios}, "scenario",
		"Rehearse a failure: broken-config, crash-on-start or held-download.")
	fs.Var(choiceValue{&lang, "lang", "lang", demoLangs}, "lang",
		"Screen language, en or zh-CN (default from LC_ALL, LC_MESSAGES or LANG).")
	_ = cmd.RegisterFlagCompletionFunc("scenario", cobra.FixedCompletions(demoScenarios, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions(demoLangs, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
