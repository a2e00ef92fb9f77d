package integration

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestDemo runs "bgp-connector demo" with no arguments, as the README's
// first command, as an installed binary would: built outside the checkout
// and run from an empty directory (the data is built in). It checks the
// table against a direct decode of the bundled file, then runs bench the
// same way, and --data with a missing file.
func TestDemo(t *testing.T) {
	connSkipShort(t)
	dir := t.TempDir()
	cmd := exec.Command(connBinary(t), "demo")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	vals, _, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[schema.Type]int{}
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for _, v := range vals {
		if d.Decode(v, &res) == nil {
			for _, e := range res.Elems {
				want[emit.TypeOf(e.Type)]++
			}
			want[schema.Stats] += len(res.Stats)
		}
	}
	for _, ty := range schema.Types() {
		re := regexp.MustCompile(`(?m)^\s*bgp\.elems\.` + ty.Suffix() + `\s+(\d+)\s*$`)
		m := re.FindSubmatch(out)
		if m == nil {
			t.Fatalf("demo output has no row for %s:\n%s", ty, out)
		}
		if n, _ := strconv.Atoi(string(m[1])); n != want[ty] {
			t.Errorf("demo reports %d %s, direct decode %d", n, ty, want[ty])
		}
	}
	if !strings.Contains(string(out), "bgp.elems.announcements: {") {
		t.Errorf("demo printed no decoded sample:\n%s", out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("loaded %d OpenBMP messages from the bundled gobgpd recording", len(vals))) {
		t.Errorf("demo does not say it loaded the %d bundled messages:\n%s", len(vals), out)
	}

	cmd = exec.Command(connBinary(t), "bench", "--repeat", "3")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(fmt.Sprintf(`^%d input records, \d+ elems in .*elems/s`, 3*len(vals))).Match(out) {
		t.Errorf("bench from an empty directory: %v\n%s", err, out)
	}
	out, err = exec.Command(connBinary(t), "demo", "--data", filepath.Join(dir, "missing.obmp")).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "missing.obmp") {
		t.Errorf("demo --data missing file: %v\n%s", err, out)
	}
}

// TestRunEmbedded starts "run" with bootstrap.servers=embedded, finds the
// address it logs, lists it with kcat, and stops it with SIGTERM (exit 0).
func TestRunEmbedded(t *testing.T) {
	connSkipShort(t)
	p := startConnector(t, "bootstrap.servers=embedded")
	re := regexp.MustCompile(`embedded Kafka broker listening" addr=(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no broker address logged:\n%s", p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for !strings.Contains(p.out.String(), "connector running") {
		if time.Now().After(deadline) {
			t.Fatalf("connector not running:\n%s", p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-b", addr, "-L").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
		for _, topic := range []string{"openbmp.bmp_raw", "bgp.elems.announcements", "bgp.elems.stats"} {
			if !strings.Contains(string(out), `topic "`+topic+`"`) {
				t.Errorf("kcat -L does not list %s:\n%s", topic, out)
			}
		}
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit %v after SIGTERM, want 0", err)
	}
	if !strings.Contains(p.out.String(), "connector stopped") {
		t.Errorf("no orderly stop in the log:\n%s", p.out.String())
	}
}

// TestRunConfigError checks that a bad configuration exits with status 2
// and one message naming the key.
func TestRunConfigError(t *testing.T) {
	connSkipShort(t)
	out, err := exec.Command(connBinary(t), "run", "--set", "errors.tolerance=sometimes").CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2; output %s", err, out)
	}
	want := `bgp-connector: configuration: --set: errors.tolerance: "sometimes" is not allowed; use one of none, all` + "\n"
	if string(out) != want {
		t.Fatalf("output %q, want %q", out, want)
	}
	out, err = exec.Command(connBinary(t), "run", "--set", "filter=prefix moreish 10.0.0.0/8").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "filter:") {
		t.Fatalf("bad filter: exit %v, output %s", err, out)
	}
}
