package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/filter"
)

// TestAddFilterFlags parses a bgpreader command line and checks that the
// flags build the filter the equivalent string gives.
func TestAddFilterFlags(t *testing.T) {
	fs := pflag.NewFlagSet("read", pflag.ContinueOnError)
	fl := addFilterFlags(fs)
	args := []string{
		"-f", "ipversion 6 or elemtype peerstates",
		"-p", "ris", "-c", "rrc00", "-c", "rrc06,route-views.jinx", "-R", "r1",
		"-t", "updates", "-j", "25152", "-J", "6939", "-a", "3356",
		"-k", "2001:db8::/32", "-k", "exact 192.0.2.0/24", "-y", "*:666",
		"-A", "_3356_", "-A", "^{1,2}", "-w", "1427846400,1427846500", "-I", "1 h", "-n", "5",
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if fl.Count != 5 {
		t.Errorf("-n gave Count %d", fl.Count)
	}
	f, err := fl.Build(time.Unix(1427850000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want, err := filter.Parse(`(ipversion 6 or elemtype peerstates) and project ris and collector rrc00 rrc06 route-views.jinx and router r1 and type updates and peer 25152 and not peer 6939 and origin 3356 and prefix 2001:db8::/32 exact 192.0.2.0/24 and community *:666 and aspath _3356_ "^{1,2}" and time 1427846400,1427846500 and time 1427846400`)
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != want.String() {
		t.Errorf("flags build\n%s\nwant\n%s", f, want)
	}
	for _, short := range []string{"f", "p", "c", "R", "t", "j", "J", "a", "k", "y", "A", "w", "I", "n"} {
		if fl := fs.ShorthandLookup(short); fl == nil || fl.Usage == "" {
			t.Errorf("-%s missing or without help", short)
		}
	}
}
