package bmptcp

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// quiet is a logger for tests that only want errors.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sink collects produced messages.
type sink struct {
	mu   sync.Mutex
	msgs []Message
	by   map[netip.Addr][]Message
	cond *sync.Cond
}

func newSink() *sink {
	s := &sink{by: map[netip.Addr][]Message{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *sink) produce(_ context.Context, m Message) error {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.by[m.Router] = append(s.by[m.Router], m)
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

func (s *sink) of(a netip.Addr) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.by[a]...)
}

// waitN waits until router a has n messages.
func (s *sink) waitN(t *testing.T, a netip.Addr, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.of(a)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("router %s: %d messages after 20 s, want %d", a, len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// start runs a server on 127.0.0.1:0 until the test ends.
func start(t *testing.T, cfg Config) (*Server, string, func()) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = quiet
	}
	if cfg.AdminID == "" {
		cfg.AdminID = "test-collector"
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, s)
}

// startServer serves s on 127.0.0.1:0 until tb ends (or stop is called).
func startServer(tb testing.TB, s *Server) (*Server, string, func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Serve: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return s, ln.Addr().String(), stop
}

// dialFrom connects to addr from the loopback address from, so that every
// simulated router has its own address.
func dialFrom(t testing.TB, from netip.Addr, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// frames splits a BMP stream into its messages.
func frames(t testing.TB, stream []byte) [][]byte {
	t.Helper()
	sr := openbmp.NewStreamReader(bytes.NewReader(stream), openbmp.KindBMP)
	var out [][]byte
	for {
		f, err := sr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			if errors.Is(err, openbmp.ErrTruncated) {
				return out
			}
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(f))
	}
}

// checkMessages compares the produced messages of router a with the BMP
// messages sent, and decodes every header.
func checkMessages(t *testing.T, s *Server, got []Message, want [][]byte, a netip.Addr, group string, from, to time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("router %s: %d messages, want %d", a, len(got), len(want))
	}
	hash := RouterHash(a)
	key := hex.EncodeToString(hash[:])
	var last int64
	for i, m := range got {
		h, hl, err := openbmp.DecodeHeader(m.Value)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Value[hl:], want[i]) || !bytes.Equal(m.BMP(), want[i]) || h.BMPLen != len(want[i]) || hl != m.HeaderLen || hl != 78+len("test-collector")+len(group) {
			t.Fatalf("message %d: BMP payload differs from the input (header %d bytes, BMP %d, want %d)", i, hl, h.BMPLen, len(want[i]))
		}
		if h.Version != openbmp.Version17 || h.ObjectType != openbmp.ObjectBMPRaw || h.Flags != openbmp.FlagRouterMessage || h.RowCount != 1 ||
			h.AdminID != "test-collector" || h.CollectorHash != md5.Sum([]byte("test-collector")) || h.CollectorHash != s.CollectorHash() ||
			h.RouterIP != a || h.RouterHash != hash || h.RouterGroup != group || string(m.Key) != key || m.Router != a {
			t.Fatalf("message %d: header %+v key %s", i, h, m.Key)
		}
		if h.CollectedAt < from.UnixMicro() || h.CollectedAt > to.UnixMicro() || h.CollectedAt < last {
			t.Fatalf("message %d: collection time %d outside [%d, %d] or before the previous %d", i, h.CollectedAt, from.UnixMicro(), to.UnixMicro(), last)
		}
		last = h.CollectedAt
	}
}

func TestHashesMatchRouteViews(t *testing.T) {
	dir := filepath.Join(corpus.Need(t), "openbmp")
	names, _ := filepath.Glob(filepath.Join(dir, "*.obmp"))
	if len(names) < 3 {
		t.Skipf("%d OpenBMP samples in %s", len(names), dir)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := openbmp.DecodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := CollectorHash(h.AdminID); got != h.CollectorHash {
			t.Errorf("%s: collector hash of %q = %x, header has %x", filepath.Base(name), h.AdminID, got, h.CollectorHash)
		}
		if got := OpenBMPRouterHash(h.RouterIP); got != h.RouterHash {
			t.Errorf("%s: OpenBMP router hash of %s = %x, header has %x", filepath.Base(name), h.RouterIP, got, h.RouterHash)
		}
		if got := RouterHash(h.RouterIP); got != h.RouterHash {
			t.Errorf("%s: router hash of %s = %x, header has %x", filepath.Base(name), h.RouterIP, got, h.RouterHash)
		}
	}
}

func TestRouterHashZeroBytes(t *testing.T) {
	// OpenBMP's strlen stops at the first zero byte of the address field.
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	if OpenBMPRouterHash(a) != md5.Sum([]byte{10}) || OpenBMPRouterHash(a) != OpenBMPRouterHash(b) {
		t.Errorf("OpenBMP hash of 10.0.0.1 %x, of 10.0.0.2 %x, want both MD5(0x0a)", OpenBMPRouterHash(a), OpenBMPRouterHash(b))
	}
	if RouterHash(a) == RouterHash(b) || RouterHash(a) != md5.Sum([]byte{10, 0, 0, 1}) {
		t.Errorf("address hash of 10.0.0.1 %x, of 10.0.0.2 %x", RouterHash(a), RouterHash(b))
	}
	v6 := netip.MustParseAddr("2001:db8::1")
	if OpenBMPRouterHash(v6) != md5.Sum([]byte{0x20, 0x01, 0x0d, 0xb8}) || RouterHash(v6) != md5.Sum(v6.AsSlice()) {
		t.Errorf("IPv6 hashes %x %x", OpenBMPRouterHash(v6), RouterHash(v6))
	}
	if RouterHash(netip.MustParseAddr("::ffff:192.0.2.1")) != RouterHash(netip.MustParseAddr("192.0.2.1")) {
		t.Error("an IPv4-mapped address hashes differently from the IPv4 address")
	}
}

// TestReplayRealStream replays a real router's BMP stream (pmacct capture)
// over TCP: every message arrives once, in order, byte for byte, wrapped in
// a header that decodes to the collector's and router's fields.
func TestReplayRealStream(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp")
	want := frames(t, stream)
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce, RouterGroup: "lab"})
	a := netip.MustParseAddr("127.0.0.51")
	from := time.Now()
	c := dialFrom(t, a, addr)
	// Write in odd-sized pieces so that messages straddle reads.
	for p := stream; len(p) > 0; {
		n := min(len(p), 1000+len(p)%777)
		if _, err := c.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	got := sk.waitN(t, a, len(want))
	checkMessages(t, s, got, want, a, "lab", from, time.Now())
	c.Close()
	waitFor(t, "disconnect", func() bool { st, _ := s.Router(a); return !st.Connected })
	st, _ := s.Router(a)
	if st.Messages != uint64(len(want)) || st.Read != uint64(len(stream)) || st.Bytes != uint64(len(stream)) || st.Sessions != 1 ||
		st.Damaged != 0 || st.Skipped != 0 || st.Cut != 0 || st.LastError != "" || st.LastSeen.IsZero() || st.Remote.Addr() != a {
		t.Errorf("stats %+v, want %d messages of %d bytes", st, len(want), len(stream))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDamagedStream puts garbage between real messages: the session goes
// on, the garbage is counted, every intact message arrives.
func TestDamagedStream(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp"))
	var stream []byte
	var want [][]byte
	garbage := 0
	for i, m := range msgs {
		if i > 0 && i%50 == 0 {
			// A bad version byte and a run of junk, as a broken router or a
			// middlebox might produce.
			g := bytes.Repeat([]byte{0xee, 0x07, 0x00}, 10+i%7)
			stream = append(stream, g...)
			garbage += len(g)
		}
		stream = append(stream, m...)
		want = append(want, m)
	}
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.52")
	from := time.Now()
	c := dialFrom(t, a, addr)
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	got := sk.waitN(t, a, len(want))
	checkMessages(t, s, got, want, a, "", from, time.Now())
	st, _ := s.Router(a)
	if st.Damaged != uint64(len(msgs)/50) || st.Skipped != uint64(garbage) || !st.Connected {
		t.Errorf("damaged %d (want %d), skipped %d bytes (want %d), connected %v", st.Damaged, len(msgs)/50, st.Skipped, garbage, st.Connected)
	}
}

// TestTruncatedTail replays the capture whose last message is cut (a
// 185-byte message with 156 bytes present at offset 12503): the whole
// messages arrive and the cut bytes are counted.
func TestTruncatedTail(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/202-BMP-CISCO-HUAWEI-multiple-sources.traffic-02.bmp")
	want := frames(t, stream)
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.53")
	c := dialFrom(t, a, addr)
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	waitFor(t, "disconnect", func() bool { st, _ := s.Router(a); return st.Sessions == 1 && !st.Connected })
	st, _ := s.Router(a)
	whole := 0
	for _, m := range want {
		whole += len(m)
	}
	if whole != 12503 || st.Messages != uint64(len(want)) || st.Cut != 156 || !strings.Contains(st.LastError, "offset 12503: truncated") {
		t.Errorf("%d whole messages (%d bytes) in the file; stats %+v; want them all and 156 cut bytes", len(want), whole, st)
	}
	checkMessages(t, s, sk.of(a), want, a, "", time.Time{}, time.Now())
}

// TestReconnect: a router's session is cut mid-message, then it connects
// again and sends its whole stream: the new session is framed from its
// first byte, nothing of the old one leaks into it.
func TestReconnect(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp")
	want := frames(t, stream)
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.54")
	first := dialFrom(t, a, addr)
	// Up to the middle of message 10.
	cutAt := 0
	for _, m := range want[:10] {
		cutAt += len(m)
	}
	cutAt += len(want[10]) / 2
	if _, err := first.Write(stream[:cutAt]); err != nil {
		t.Fatal(err)
	}
	sk.waitN(t, a, 10)
	first.Close()
	waitFor(t, "first session's end", func() bool { st, _ := s.Router(a); return !st.Connected && st.Sessions == 1 })
	second := dialFrom(t, a, addr)
	if _, err := second.Write(stream); err != nil {
		t.Fatal(err)
	}
	got := sk.waitN(t, a, 10+len(want))
	checkMessages(t, s, got[10:], want, a, "", time.Time{}, time.Now())
	if openbmp.MessageType(got[10].BMP()[5]) != openbmp.MsgInitiation {
		t.Errorf("the second session starts with message type %d, want Initiation", got[10].BMP()[5])
	}
	st, _ := s.Router(a)
	if st.Sessions != 2 || st.Cut != uint64(len(want[10])/2) || st.Messages != uint64(10+len(want)) || !st.Connected {
		t.Errorf("stats %+v, want 2 sessions, %d cut bytes", st, len(want[10])/2)
	}
}

// TestSessionReplaced: a second connection from a router whose first one
// is still open (a half-open session after a reboot) closes the first.
func TestSessionReplaced(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp"))
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.55")
	first := dialFrom(t, a, addr)
	first.Write(msgs[0])
	sk.waitN(t, a, 1)
	second := dialFrom(t, a, addr)
	second.Write(msgs[0])
	sk.waitN(t, a, 2)
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := first.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("the first session is still open: read %d, %v", n, err)
	}
	st, _ := s.Router(a)
	if st.Sessions != 2 || !st.Connected || st.Remote != netip.MustParseAddrPort(second.LocalAddr().String()) {
		t.Errorf("stats %+v", st)
	}
}

// TestNotBMP: a client speaking something else is closed with an error
// naming the problem.
func TestNotBMP(t *testing.T) {
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.56")
	c := dialFrom(t, a, addr)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
	waitFor(t, "session end", func() bool { st, _ := s.Router(a); return !st.Connected && st.LastError != "" })
	st, _ := s.Router(a)
	if st.Messages != 0 || !strings.Contains(st.LastError, "version") {
		t.Errorf("stats %+v", st)
	}
}

// TestProducerError: a Producer error ends the session; Abort from a late
// delivery failure does too.
func TestProducerError(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp"))
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, m...)
	}
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprint("late=", late), func(t *testing.T) {
			n := 0
			prod := func(_ context.Context, m Message) error {
				n++
				if n == 5 {
					if late {
						go m.Abort(errors.New("broker said no"))
						return nil
					}
					return errors.New("broker said no")
				}
				if n == 3 {
					return fmt.Errorf("too big: %w", ErrSkip)
				}
				return nil
			}
			s, addr, _ := start(t, Config{Produce: prod})
			a := netip.MustParseAddr("127.0.0.57")
			c := dialFrom(t, a, addr)
			c.Write(stream)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("connection still open")
			}
			waitFor(t, "session end", func() bool { st, _ := s.Router(a); return !st.Connected && st.LastError != "" })
			st, _ := s.Router(a)
			if !strings.Contains(st.LastError, "broker said no") || st.Dropped != 1 || (!late && st.Messages != 3) || (late && st.Messages < 4) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestBackpressure streams 64 MB into a collector whose Producer first
// blocks, then lags: while it blocks the sender blocks once the socket
// buffers are full; while it lags the whole 64 MB goes through; the
// collector's heap does not grow with the data in either phase, and every
// message arrives in order.
func TestBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MB")
	}
	msgs := frames(t, corpus.Read(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp"))
	var one []byte
	for _, m := range msgs {
		one = append(one, m...)
	}
	const total = 64 << 20
	reps := total/len(one) + 1

	release := make(chan struct{})
	var mu sync.Mutex
	var got int
	var bad error
	prod := func(ctx context.Context, m Message) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		if want := msgs[got%len(msgs)]; bad == nil && !bytes.Equal(m.BMP(), want) {
			bad = fmt.Errorf("message %d differs from the input", got)
		}
		got++
		n := got
		mu.Unlock()
		if n%500 == 0 {
			time.Sleep(time.Millisecond) // a producer that lags
		}
		return nil
	}
	s, addr, _ := start(t, Config{Produce: prod})
	a := netip.MustParseAddr("127.0.0.58")
	c := dialFrom(t, a, addr)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomicMax
	stopSampling := sampleHeap(&peak)

	// Phase 1, Producer blocked: send until the writes stall for a second.
	sent, rep, off := 0, 0, 0
	stalled := false
	for !stalled {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(one[off:])
		sent += n
		off += n
		if off == len(one) {
			rep, off = rep+1, 0
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatal(err)
			}
			stalled = true
		}
		if sent >= total {
			t.Fatalf("the sender never blocked: %d bytes sent", sent)
		}
	}
	st, _ := s.Router(a)
	t.Logf("producer blocked: sender blocked after %.1f MB; the collector read %.1f KB (1 message in hand)", float64(sent)/1e6, float64(st.Read)/1e3)
	if st.Read > 1<<20 {
		t.Errorf("the collector read %d bytes with the producer blocked on the first message; want at most its framing buffer", st.Read)
	}

	// Phase 2, Producer lagging: the rest of the 64 MB goes through.
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
	wantMsgs := reps * len(msgs)
	waitFor(t, "the backlog", func() bool { mu.Lock(); defer mu.Unlock(); return got >= wantMsgs })
	stopSampling()
	growth := peak.load() - int64(before.HeapInuse)
	st, _ = s.Router(a)
	t.Logf("streamed %.1f MB (%d messages); peak heap in use %.2f MB above the start", float64(st.Read)/1e6, st.Messages, float64(growth)/1e6)
	// What is not read stays in the kernel's socket buffers, not in the
	// collector's heap. The bound is the garbage collector's 4 MB minimum
	// heap target (each message's value is garbage once produced) plus the
	// framing buffer and the message in hand: nothing proportional to the
	// 64 MB.
	if growth > 8<<20 {
		t.Errorf("heap grew %d bytes while streaming into a blocked or lagging producer; bound 8 MiB", growth)
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != nil {
		t.Fatal(bad)
	}
	if got != wantMsgs || st.Read != uint64(reps*len(one)) {
		t.Errorf("%d messages, %d bytes; want %d, %d", got, st.Read, wantMsgs, reps*len(one))
	}
}

type atomicMax struct {
	mu sync.Mutex
	v  int64
}

func (m *atomicMax) store(v int64) {
	m.mu.Lock()
	m.v = max(m.v, v)
	m.mu.Unlock()
}

func (m *atomicMax) load() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.v
}

// sampleHeap records the peak HeapInuse every 10 ms until stopped.
func sampleHeap(peak *atomicMax) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak.store(int64(ms.HeapInuse))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// TestGracefulStop: on stop the collector produces the messages it has
// read, calls Flush while the router's socket is still open, then closes
// it.
func TestGracefulStop(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/205-BMP-6wind-FRR-peer_down.traffic-00.bmp"))
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, m...)
	}
	half := len(stream) / 2
	gate := make(chan struct{})
	var mu sync.Mutex
	produced := 0
	prod := func(ctx context.Context, m Message) error {
		<-gate
		mu.Lock()
		produced++
		mu.Unlock()
		return nil
	}
	a := netip.MustParseAddr("127.0.0.59")
	var c *net.TCPConn
	flushed := make(chan error, 1)
	var s *Server
	flush := func(context.Context) error {
		// The router's socket is still open while flushing.
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			flushed <- fmt.Errorf("socket closed before flush: %v", err)
		} else {
			flushed <- nil
		}
		return nil
	}
	s, addr, stop := start(t, Config{Produce: prod, Flush: flush})
	c = dialFrom(t, a, addr)
	if _, err := c.Write(stream[:half]); err != nil {
		t.Fatal(err)
	}
	// The Producer blocks on the first message, so the collector holds what
	// its framing buffer read.
	waitFor(t, "the first read", func() bool { st, _ := s.Router(a); return st.Read > 0 })
	time.Sleep(50 * time.Millisecond)
	go func() { time.Sleep(100 * time.Millisecond); close(gate) }()
	stop()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	// Every whole message read before the stop was produced; the one cut
	// by the stop is counted.
	st, _ := s.Router(a)
	whole, rest := 0, int(st.Read)
	for _, m := range msgs {
		if rest < len(m) {
			break
		}
		rest -= len(m)
		whole++
	}
	t.Logf("stop with %d bytes read: %d whole messages, %d bytes of a cut one", st.Read, whole, rest)
	mu.Lock()
	defer mu.Unlock()
	if produced != whole || st.Messages != uint64(whole) || st.Cut != uint64(rest) || st.LastError != "" {
		t.Errorf("produced %d, stats %+v; want %d messages and %d cut bytes", produced, st, whole, rest)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the stop the router reads %v, want EOF", err)
	}
}

// TestReconnectWhileTailUnread: a router closes its session and connects
// again while the collector, held back by a slow Producer, has not read the
// old session's tail: the tail is delivered first, then the new session,
// nothing lost or interleaved.
func TestReconnectWhileTailUnread(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp")
	want := frames(t, stream)
	sk := newSink()
	var n atomic.Int64
	slow := func(ctx context.Context, m Message) error {
		if n.Add(1)%50 == 0 {
			time.Sleep(time.Millisecond)
		}
		return sk.produce(ctx, m)
	}
	s, addr, _ := start(t, Config{Produce: slow})
	a := netip.MustParseAddr("127.0.0.60")
	first := dialFrom(t, a, addr)
	if _, err := first.Write(stream); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := dialFrom(t, a, addr)
	if _, err := second.Write(stream); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Router(a); st.Read >= uint64(len(stream)) {
		t.Logf("the first session was read to its end before the second connected; the test shows nothing")
	}
	got := sk.waitN(t, a, 2*len(want))
	checkMessages(t, s, got[:len(want)], want, a, "", time.Time{}, time.Now())
	checkMessages(t, s, got[len(want):], want, a, "", time.Time{}, time.Now())
	st, _ := s.Router(a)
	if st.Sessions != 2 || st.Messages != uint64(2*len(want)) {
		t.Errorf("stats %+v", st)
	}
}

// TestIPv6Router: a router connecting over IPv6 gets the IPv6 flag and its
// full address in the header.
func TestIPv6Router(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp"))
	sk := newSink()
	s, err := NewServer(Config{AdminID: "v6", Produce: sk.produce, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(msgs[0])
	a := netip.IPv6Loopback()
	got := sk.waitN(t, a, 1)
	h, hl, err := openbmp.DecodeHeader(got[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if h.Flags != openbmp.FlagRouterMessage|openbmp.FlagRouterIPv6 || h.RouterIP != a || h.RouterHash != RouterHash(a) || hl != 78+2 || !bytes.Equal(got[0].BMP(), msgs[0]) {
		t.Errorf("header %+v (length %d)", h, hl)
	}
}

// TestGarbageAfterMessage: after a valid message, a client sends junk
// that never resynchronises: the session is closed once 17 MiB came
// without a valid message, rather than buffering without end.
func TestGarbageAfterMessage(t *testing.T) {
	msgs := frames(t, corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp"))
	sk := newSink()
	s, addr, _ := start(t, Config{Produce: sk.produce})
	a := netip.MustParseAddr("127.0.0.62")
	c := dialFrom(t, a, addr)
	c.Write(msgs[0])
	junk := bytes.Repeat([]byte{0xee}, 1<<20)
	for i := 0; i < 32; i++ {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(junk); err != nil {
			break // closed by the collector
		}
	}
	waitFor(t, "session end", func() bool { st, _ := s.Router(a); return !st.Connected && st.LastError != "" })
	st, _ := s.Router(a)
	if st.Messages != 1 || !strings.Contains(st.LastError, "not a BMP stream") || st.Read > maxNoFrame+1+64<<10+uint64(len(msgs[0])) || st.Damaged != 1 {
		t.Errorf("stats %+v", st)
	}
}
