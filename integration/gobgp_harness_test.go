package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/openbmp"
)

// gobgpRouter is one gobgpd daemon started by a test on a loopback address,
// with its gRPC API on its own port so that the gobgp CLI can drive it.
type gobgpRouter struct {
	name    string
	addr    netip.Addr
	apiPort int
	cmd     *exec.Cmd
	log     *bytes.Buffer
}

// lookGoBGP skips the test when the Debian gobgpd package is not installed.
func lookGoBGP(t *testing.T) {
	t.Helper()
	for _, b := range []string{"gobgpd", "gobgp"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (apt-get install -y gobgpd): %v", b, err)
		}
	}
}

// freePort returns a TCP port that was free on addr a moment ago.
func freePort(t *testing.T, addr netip.Addr) int {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startGobgpd writes config to a file and starts gobgpd on it. The daemon is
// killed when the test ends.
func startGobgpd(t *testing.T, name string, addr netip.Addr, config string) *gobgpRouter {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &gobgpRouter{name: name, addr: addr, apiPort: freePort(t, addr), log: new(bytes.Buffer)}
	r.cmd = exec.Command("gobgpd", "-f", cfg, "-p", "--pprof-disable",
		"--api-hosts", netip.AddrPortFrom(addr, uint16(r.apiPort)).String())
	r.cmd.Stdout, r.cmd.Stderr = &lockedWriter{w: r.log}, &lockedWriter{w: r.log}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start gobgpd %s: %v", name, err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("gobgpd %s log:\n%s", name, r.log.String())
		}
	})
	// Wait for the API to answer.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := r.cli("global"); err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("gobgpd %s API on %s:%d did not come up; log:\n%s", name, addr, r.apiPort, r.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stop sends SIGTERM and waits for the daemon to exit.
func (r *gobgpRouter) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("gobgpd %s did not stop on SIGTERM", r.name)
	}
}

// cli runs the gobgp CLI against this daemon.
func (r *gobgpRouter) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"-u", r.addr.String(), "-p", strconv.Itoa(r.apiPort)}, args...)
	out, err := exec.CommandContext(ctx, "gobgp", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("gobgp %s: %v: %s", strings.Join(full, " "), err, out)
	}
	return string(out), nil
}

func (r *gobgpRouter) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := r.cli(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bmpFrame is one BMP message received from the router, with its arrival
// time.
type bmpFrame struct {
	at  time.Time
	msg []byte
}

// bmpStation is a minimal BMP monitoring station: it accepts one router
// connection and splits the byte stream into messages with
// openbmp.StreamReader.
type bmpStation struct {
	ln     net.Listener
	mu     sync.Mutex
	frames []bmpFrame
	err    error
	notify chan struct{}
}

func newBMPStation(t *testing.T, addr netip.Addr) *bmpStation {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	s := &bmpStation{ln: ln, notify: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *bmpStation) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *bmpStation) serve() {
	c, err := s.ln.Accept()
	if err != nil {
		s.setErr(err)
		return
	}
	defer c.Close()
	sr := openbmp.NewStreamReader(c, openbmp.KindBMP)
	for {
		f, err := sr.Next()
		if err != nil {
			s.setErr(err)
			return
		}
		s.mu.Lock()
		s.frames = append(s.frames, bmpFrame{at: time.Now(), msg: bytes.Clone(f)})
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

func (s *bmpStation) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// closed reports whether the router's connection ended.
func (s *bmpStation) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// snapshot returns the frames received so far.
func (s *bmpStation) snapshot() []bmpFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bmpFrame(nil), s.frames...)
}

// waitFor polls cond over the received frames until it returns nil or the
// timeout passes; the last error explains the failure.
func (s *bmpStation) waitFor(t *testing.T, what string, timeout time.Duration, cond func([]bmpFrame) error) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		last := cond(s.snapshot())
		if last == nil {
			return
		}
		select {
		case <-deadline:
			s.mu.Lock()
			err := s.err
			s.mu.Unlock()
			t.Fatalf("timed out after %v waiting for %s (%d BMP messages received, station error %v): %v", timeout, what, len(s.snapshot()), err, last)
		case <-s.notify:
		case <-tick.C:
		}
	}
}

// Labels written into the OpenBMP headers of the recorded capture.
const (
	gobgpAdminID     = "gobgp-lab"
	gobgpRouterGroup = "gobgp"
)

// wrapOpenBMP wraps each frame in an OpenBMP v1.7 binary header as an
// OpenBMP collector would publish it on openbmp.bmp_raw.
func wrapOpenBMP(frames []bmpFrame, router netip.Addr, group string) []byte {
	h := openbmp.Header{
		Flags:         openbmp.FlagRouterMessage,
		ObjectType:    openbmp.ObjectBMPRaw,
		CollectorHash: md5.Sum([]byte(gobgpAdminID)),
		AdminID:       gobgpAdminID,
		RouterHash:    md5.Sum([]byte(router.String())),
		RouterIP:      router,
		RouterGroup:   group,
		RowCount:      1,
	}
	var out []byte
	for _, f := range frames {
		h.CollectedAt = f.at.UnixMicro()
		out = h.AppendTo(out, f.msg)
	}
	return out
}
