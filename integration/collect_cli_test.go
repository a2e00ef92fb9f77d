package integration

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// exitCode runs the binary and returns its exit status and output.
func exitCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(connBinary(t), args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatal(err)
	return -1, ""
}

// TestCollectCLI: collect's --help teaches, a bad key is a usage error
// (2), an address it cannot listen on is a failure (1).
func TestCollectCLI(t *testing.T) {
	connSkipShort(t)
	code, out := exitCode(t, "collect", "--help")
	for _, want := range []string{"0.0.0.0:5000", "openbmp.bmp_raw", "[[bmp-servers]]", "bmp connect", "Backpressure", "collect.buffer.bytes", "collect.router.hash", "run --collect", "SIGTERM"} {
		if !strings.Contains(out, want) {
			t.Errorf("collect --help does not mention %q", want)
		}
	}
	if code != 0 {
		t.Errorf("collect --help: exit %d", code)
	}
	if code, out := exitCode(t, "collect", "--set", "collect.router.hash=sha1"); code != 2 || !strings.Contains(out, "collect.router.hash") {
		t.Errorf("bad key: exit %d, %s", code, out)
	}
	if code, out := exitCode(t, "collect", "--set", "topics.regex=^x$"); code != 2 || !strings.Contains(out, "collect.topic") {
		t.Errorf("no topic: exit %d, %s", code, out)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if code, out := exitCode(t, "collect", "--set", "bootstrap.servers=embedded", "--listen", busy.Addr().String()); code != 1 || !strings.Contains(out, "collect.listen "+busy.Addr().String()) {
		t.Errorf("busy port: exit %d, %s", code, out)
	}
	if code, out := exitCode(t, "run", "--help"); code != 0 || !strings.Contains(out, "--collect") {
		t.Errorf("run --help: exit %d, no --collect:\n%s", code, out)
	}
}

var connStopped = regexp.MustCompile(`msg="connector stopped" records=(\d+)`)

// TestRunCollect runs "run --collect" (connector and collector on one
// embedded broker) as a process: a router's stream becomes elems, and on
// SIGTERM the collector flushes, the connector decodes everything the
// router sent and the process exits 0.
func TestRunCollect(t *testing.T) {
	connSkipShort(t)
	stream := corpus.Read(t, "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp")
	n := len(bmpMessages(t, stream))
	port := freePort(t, netip.MustParseAddr("127.0.0.1"))
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(connBinary(t), "run", "--collect", listen, "--set", "bootstrap.servers=embedded", "--set", "collect.admin.id="+collectAdminID)
	var log connBuf
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("run --collect log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(log.String(), `msg="BMP collector listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no collector after 30 s:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tcp, _ := net.ResolveTCPAddr("tcp", listen)
	c := dialBMP(t, netip.MustParseAddr("127.0.0.81"), tcp)
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for !strings.Contains(log.String(), `msg="bmp router disconnected"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the router's session did not end:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run --collect exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run --collect did not exit 60 s after SIGTERM")
	}
	t.Logf("run --collect: %d BMP messages collected and decoded", n)
	m := connStopped.FindStringSubmatch(log.String())
	if m == nil || m[1] != fmt.Sprint(n) || !strings.Contains(log.String(), fmt.Sprintf(`msg="BMP collector stopped" produced=%d failed=0`, n)) {
		t.Errorf("want %d records collected and decoded; log:\n%s", n, log.String())
	}
}
