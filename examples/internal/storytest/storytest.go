// Package storytest checks an example's output in the examples' tests.
package storytest

import (
	"regexp"
	"testing"
)

// InOrder fails t unless text has, for each pattern in turn, a whole line
// matching it after the line that matched the one before.
func InOrder(t testing.TB, text string, patterns ...string) {
	t.Helper()
	rest := text
	for _, p := range patterns {
		loc := regexp.MustCompile(`(?m)^` + p + `$`).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("output lacks, after what came before, a line matching %q", p)
		}
		rest = rest[loc[1]:]
	}
}
