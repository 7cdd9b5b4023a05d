package model

import "fmt"

// Reason is a sentence for the operator kept as a code and its arguments, so that the dashboard
// can say it in the screen's language. The code is the English printf format itself: it is
// stable as long as the English sentence is, it is the key a message catalogue looks it up by,
// and String gives the English text the command line and JSON keep.
type Reason struct {
	Code string
	Args []any
}

// because builds a Reason.
func because(format string, args ...any) Reason { return Reason{Code: format, Args: args} }

// String is the English sentence.
func (r Reason) String() string {
	if r.Code == "" {
		return ""
	}
	return fmt.Sprintf(r.Code, r.Args...)
}
