package model

import (
	"errors"
	"fmt"
	"strings"
)

// Reason is a sentence for the operator kept as a code and its arguments, so that the dashboard
// can say it in the screen's language. The code is the English printf format itself: it is
// stable as long as the English sentence is, it is the key a message catalogue looks it up by,
// and String gives the English text the command line and JSON keep.
//
// model builds its reasons with because; nginxctl's packages with Because (a literal format,
// which the catalogue test finds in their source). An argument that is itself a Reason, or an
// error carrying one, is said in the screen's language too.
type Reason struct {
	Code string
	Args []any
}

// because builds a Reason.
func because(format string, args ...any) Reason { return Reason{Code: format, Args: args} }

// Because builds a Reason outside model (nginxctl's step failures, scan notes, probe errors).
// Its format must be a string literal: the catalogue test collects it from the source.
func Because(format string, args ...any) Reason { return Reason{Code: format, Args: args} }

// String is the English sentence. A code may wrap an error with %w, as fmt.Errorf does: the
// sentence is then fmt.Errorf's, and the error built by Err unwraps to that argument.
func (r Reason) String() string {
	if r.Code == "" {
		return ""
	}
	if r.wraps() {
		return fmt.Errorf(r.Code, r.Args...).Error()
	}
	return fmt.Sprintf(r.Code, r.Args...)
}

// wraps tells whether the code wraps an error argument (%w).
func (r Reason) wraps() bool { return strings.Contains(r.Code, "%w") }

// Reasons are reasons said as one argument of another (each draining worker of a master): a
// list, joined with ", " in English; the screen joins them the way its language does.
type Reasons []Reason

func (rs Reasons) String() string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

// Says tells whether r is a reason whose English sentence is english: a reason kept beside a
// sentence someone may since have rewritten is used only while it still says the same.
func (r Reason) Says(english string) bool { return r.Code != "" && r.String() == english }

// Or is r when it says english, else english as it is (a reason the screen shows untranslated).
func (r Reason) Or(english string) Reason {
	if r.Says(english) {
		return r
	}
	return Reason{Code: "%s", Args: []any{english}}
}

// Err is an error whose message is the reason's English sentence; ReasonOf finds the reason
// again, so an error can carry its sentence up to the screen.
func (r Reason) Err() error { return &ReasonError{Reason: r} }

// ReasonError is an error that is a Reason.
type ReasonError struct{ Reason Reason }

func (e *ReasonError) Error() string { return e.Reason.String() }

// Unwrap returns the arguments the code wraps with %w, so errors.Is and errors.As see through a
// reason as they do through fmt.Errorf (a candidate's stat error still is fs.ErrNotExist).
func (e *ReasonError) Unwrap() []error {
	if !e.Reason.wraps() {
		return nil
	}
	switch w := fmt.Errorf(e.Reason.Code, e.Reason.Args...).(type) {
	case interface{ Unwrap() error }:
		return []error{w.Unwrap()}
	case interface{ Unwrap() []error }:
		return w.Unwrap()
	}
	return nil
}

// Explainer is an error of its own type that keeps its sentence as a reason too (a refused
// signal, another driver's hold): ReasonOf finds it as it finds a ReasonError.
type Explainer interface {
	error
	Why() Reason
}

// ReasonOf returns the reason an error says when its whole message is that reason (the error
// is a ReasonError or an Explainer, or wraps one without adding words), else the zero Reason.
func ReasonOf(err error) Reason {
	if err == nil {
		return Reason{}
	}
	var re *ReasonError
	if errors.As(err, &re) && re.Reason.Says(err.Error()) {
		return re.Reason
	}
	var ex Explainer
	if errors.As(err, &ex) {
		if r := ex.Why(); r.Says(err.Error()) {
			return r
		}
	}
	return Reason{}
}

// ReasonsOf pairs sentences with the reasons kept beside them: the i-th result is the reason
// among whys that says the i-th sentence, or the sentence as it is.
func ReasonsOf(english []string, whys []Reason) []Reason {
	out := make([]Reason, len(english))
	for i, s := range english {
		out[i] = Reason{Code: "%s", Args: []any{s}}
		if i < len(whys) && whys[i].Says(s) {
			out[i] = whys[i]
			continue
		}
		for _, w := range whys {
			if w.Says(s) {
				out[i] = w
				break
			}
		}
	}
	return out
}
