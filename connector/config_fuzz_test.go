package connector

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// printable reports whether s is safe to print to a terminal: no control
// characters, no invalid UTF-8.
func printable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r == unicode.ReplacementChar || !unicode.IsGraphic(r) }) < 0
}

// FuzzParseProperties feeds arbitrary .properties text through parsing and
// validation: no panic, and every problem names where it comes from.
func FuzzParseProperties(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "connector.properties")); err == nil {
		f.Add(string(b))
	}
	f.Add("topics=a,\\\n  b\nkey.field=peer\n")
	f.Add("name\\u0041 = x\\\\\n! c\n# d\nerrors.tolerance: all\n")
	f.Add("bootstrap.servers=k:1,embedded\ntasks.max=99999999999999999999\n")
	f.Add("\ufeffname=x\n\x1b[2Jkey=\x1b]0;t\a\ntopics.regex=(\x9b\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseProperties(strings.NewReader(text), "f.properties")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.properties") {
				t.Fatalf("error without the file name: %v", err)
			}
			if !printable(err.Error()) {
				t.Fatalf("error with control characters: %q", err)
			}
			return
		}
		for _, x := range s {
			if !strings.HasPrefix(x.Origin, "f.properties:") {
				t.Fatalf("setting %+v without its line", x)
			}
		}
		_, err = NewConfig(s)
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %T is not a *ConfigError", err)
		}
		if ce != nil {
			for _, p := range ce.Problems {
				if p.Msg == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
				if !printable(p.String()) {
					t.Fatalf("problem with control characters: %q", p.String())
				}
			}
		}
	})
}
