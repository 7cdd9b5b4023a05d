package ui

import "github.com/hotdeploy/hotdeploy/model"

// Reasons built in model (refusals, warnings, what a dialog's action will do) come as a code and
// its arguments beside the English sentence: the code is the English format, the catalogue's key,
// so the screen says them in its language. nginxctl's sentences the screen shows (a step's
// failure and progress, the scan's notes, the probe's errors) come the same way, built with
// model.Because; one without a code (an OS error, nginx's own words) shows as it is.

// say renders a model.Reason, or the English text when it has no code.
func (m Model) say(r model.Reason, english string) string { return m.tr.say(r, english) }

// say renders a model.Reason in the translator's language, or english when it has no code.
func (t translator) say(r model.Reason, english string) string {
	if r.Code == "" {
		return english
	}
	return t.sayReason(r)
}

// sayReason renders a reason in the translator's language, its arguments too where they are
// reasons themselves or errors that carry one (a step failure quoting a refusal), or a process's
// role or identity (model.Role, model.Ref), whose names are English on the command line.
func (t translator) sayReason(r model.Reason) string {
	if t.lang == LangEnglish {
		return r.String()
	}
	args, copied := r.Args, false
	for i, a := range r.Args {
		var said string
		switch a := a.(type) {
		case model.Reason:
			if a.Code == "" {
				continue
			}
			said = t.sayReason(a)
		case model.Reasons:
			items := make([]string, len(a))
			for j, x := range a {
				items[j] = t.say(x, x.String())
			}
			said = t.list(items)
		case model.Role:
			said = t.roleInSentence(a)
		case model.Phase:
			// The phase's name is the JSON's (old-draining); inside a sentence, what it means.
			if hint, ok := phaseHint[a]; ok {
				said = t.T(hint)
			}
		case model.Ref:
			said = t.T("%s %s pid %d", a.Comm, t.roleInSentence(a.Role), a.PID)
		case error:
			inner := model.ReasonOf(a)
			if inner.Code == "" {
				continue
			}
			said = t.sayReason(inner)
		default:
			continue
		}
		if !copied {
			args, copied = append([]any(nil), r.Args...), true
		}
		args[i] = said
	}
	return t.T(r.Code, args...)
}

// roleInSentence names a role inside a sentence. The Chinese sentences keep nginx's own words
// "master" and "worker" (旧 master、新 master 的 worker), as operators say them; the cache
// processes and a process not yet titled are said in Chinese.
func (t translator) roleInSentence(r model.Role) string {
	switch r {
	case model.RoleMaster, model.RoleWorker:
		return r.String()
	case model.RoleUnknown:
		return t.T("unknown process")
	}
	return t.T(r.String())
}

// sayErr renders an error: in the screen's language when its message is a reason.
func (m Model) sayErr(err error) string { return m.say(model.ReasonOf(err), err.Error()) }

// sayAll renders sentences kept beside their reasons (model.ReasonsOf pairs them).
func (m Model) sayAll(english []string, whys []model.Reason) []string {
	if len(english) == 0 || m.tr.lang == LangEnglish || len(whys) == 0 {
		return english
	}
	out := make([]string, len(english))
	for i, r := range model.ReasonsOf(english, whys) {
		out[i] = m.say(r, english[i])
	}
	return out
}

// actorErr says why actions cannot run, in the screen's language.
func (m Model) actorErr() string { return m.say(m.deps.ActorErrWhy, m.deps.ActorErr) }

// reasonText renders a verdict's reason in the screen's language.
func (m Model) reasonText(v model.Verdict) string { return m.say(v.Why, v.Reason) }

// warning renders a verdict's warning in the screen's language.
func (m Model) warning(v model.Verdict) string { return m.say(v.WarningWhy, v.Warning) }

// planEffect and planIrreversible render a plan's sentences in the screen's language.
func (m Model) planEffect(p model.Plan) string       { return m.say(p.EffectWhy, p.Effect) }
func (m Model) planIrreversible(p model.Plan) string { return m.say(p.IrreversibleWhy, p.Irreversible) }

// refusal is a verdict the dashboard itself refuses with (not model), with its code.
func refusal(a model.Action, format string, args ...any) model.Verdict {
	why := model.Reason{Code: format, Args: args}
	return model.Verdict{Action: a, Reason: why.String(), Why: why}
}
