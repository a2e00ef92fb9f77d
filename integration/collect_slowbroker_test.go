package integration

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// procHWM returns a process's peak resident set size (VmHWM) in bytes.
func procHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

var listenLine = regexp.MustCompile(`msg="BMP collector listening" addr=(\S+)`)

// startCollectProc runs "bgp-connector collect" on 127.0.0.1:0 with the
// --set pairs, and returns it once it listens, with its address, its log
// lines (the channel is closed when it exits) and the lines read so far.
func startCollectProc(t *testing.T, sets ...string) (*exec.Cmd, *net.TCPAddr, <-chan string, []string) {
	t.Helper()
	args := []string{"collect", "--listen", "127.0.0.1:0", "--log-level", "info"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(connBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logc := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logc <- sc.Text():
			default:
			}
		}
		close(logc)
	}()
	var log []string
	for {
		select {
		case l, ok := <-logc:
			if !ok {
				t.Fatalf("collect exited: %s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if m := listenLine.FindStringSubmatch(l); m != nil {
				tcp, err := net.ResolveTCPAddr("tcp", m[1])
				if err != nil {
					t.Fatal(err)
				}
				return cmd, tcp, logc, log
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("collect not listening after 30 s: %s", strings.Join(log, "\n"))
		}
	}
}

// TestCollectSlowBroker runs "bgp-connector collect" as its own process
// against a broker whose produce requests are first held, then slowed, and
// streams 64 MB of a real router's BMP into it. While produce is held the
// router's writes block (TCP backpressure) once the collector's 4 MiB
// producer buffer and the socket buffers are full; then everything goes
// through. The collector's peak RSS stays below 64 MiB however much is
// streamed (its producer buffer is bounded by collect.buffer.bytes, its
// sockets are not read while the buffer is full); SIGTERM flushes and exits
// 0 with every message on the topic.
func TestCollectSlowBroker(t *testing.T) {
	connSkipShort(t)
	msgs := bmpMessages(t, corpus.Read(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp"))
	var one []byte
	for _, m := range msgs {
		one = append(one, m...)
	}
	const total = 64 << 20
	reps := total/len(one) + 1

	cluster, addr, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	var held atomic.Bool
	held.Store(true)
	release := make(chan struct{})
	var produceReqs atomic.Int64
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		produceReqs.Add(1)
		if held.Load() {
			cluster.SleepControl(func() { <-release })
		} else {
			cluster.SleepControl(func() { time.Sleep(2 * time.Millisecond) })
		}
		return nil, nil, false
	})

	cmd, tcp, logc, log := startCollectProc(t, "bootstrap.servers="+addr, "collect.buffer.bytes="+strconv.Itoa(4<<20), "collect.admin.id="+collectAdminID)
	router := netip.MustParseAddr("127.0.0.61")
	c := dialBMP(t, router, tcp)

	// Phase 1: produce held. Write until the writes stall for 2 s.
	sent, rep, off := 0, 0, 0
	for {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Write(one[off:])
		sent += n
		off += n
		if off == len(one) {
			rep, off = rep+1, 0
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent >= total {
			t.Fatalf("the router's writes never blocked: %d bytes sent with produce held", sent)
		}
	}
	heldRSS := procHWM(t, cmd.Process.Pid)
	t.Logf("produce held: the router blocked after %.1f MB; collector peak RSS %.1f MiB", float64(sent)/1e6, float64(heldRSS)/(1<<20))
	if sent > 32<<20 {
		t.Errorf("%d bytes accepted with produce held: more than the 4 MiB buffer and socket buffers", sent)
	}

	// Phase 2: produce slowed; the whole 64 MB goes through.
	held.Store(false)
	close(release)
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write(one[off:]); err != nil {
		t.Fatal(err)
	}
	for rep++; rep < reps; rep++ {
		if _, err := c.Write(one); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	want := reps * len(msgs)
	deadline := time.Now().Add(120 * time.Second)
	for {
		ends := endOffsets(t, addr, "openbmp.bmp_raw")
		if n := sumOffsets(ends); n >= int64(want) {
			if n != int64(want) {
				t.Fatalf("%d records on the topic, want %d", n, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records after 120 s", sumOffsets(ends), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	peak := procHWM(t, cmd.Process.Pid)
	t.Logf("streamed %.1f MB (%d BMP messages) through a slowed broker (%d produce requests); collector peak RSS %.1f MiB",
		float64(reps*len(one))/1e6, want, produceReqs.Load(), float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("collector peak RSS %d bytes; bound 64 MiB", peak)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("collect exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("collect did not exit 30 s after SIGTERM")
	}
	for l := range logc {
		log = append(log, l)
	}
	if !strings.Contains(strings.Join(log, "\n"), fmt.Sprintf(`msg="BMP collector stopped" produced=%d failed=0`, want)) {
		t.Errorf("no clean stop in the log:\n%s", strings.Join(log[max(0, len(log)-10):], "\n"))
	}
}

// TestCollectProc20Routers runs "bgp-connector collect" (default settings,
// a 32 MiB producer buffer) as its own process and replays 20 real router
// streams into it at once, 20 sessions each (56 MB), and reports its peak
// RSS. It is flat in the volume: about 83 MiB for 28 MB as for 56 MB, the
// bounded producer buffer and the garbage collector's headroom.
func TestCollectProc20Routers(t *testing.T) {
	connSkipShort(t)
	_, streams := replayStreams(t, 20)
	cluster, addr, err := connector.StartEmbedded(0, 6, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cmd, tcp, _, _ := startCollectProc(t, "bootstrap.servers="+addr)
	const rounds = 20
	want, size := 0, 0
	for _, s := range streams {
		want += rounds * len(bmpMessages(t, s))
		size += rounds * len(s)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c := dialBMP(t, replayRouter(i), tcp)
				c.Write(s)
				c.Close()
			}
		}()
	}
	wg.Wait()
	waitProgress(t, "records in openbmp.bmp_raw", int64(want), func() int64 { return sumOffsets(endOffsets(t, addr, "openbmp.bmp_raw")) })
	el := time.Since(start)
	peak := procHWM(t, cmd.Process.Pid)
	t.Logf("20 routers x %d sessions: %.1f MB, %d BMP messages in %v (%.0f msgs/s); collector peak RSS %.1f MiB",
		rounds, float64(size)/1e6, want, el.Round(time.Millisecond), float64(want)/el.Seconds(), float64(peak)/(1<<20))
	if got := sumOffsets(endOffsets(t, addr, "openbmp.bmp_raw")); got != int64(want) {
		t.Errorf("%d records, want %d", got, want)
	}
	if peak > 128<<20 {
		t.Errorf("collector peak RSS %d bytes with 20 routers; bound 128 MiB", peak)
	}
}
