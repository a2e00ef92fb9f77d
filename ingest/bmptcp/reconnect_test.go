package bmptcp

import (
	"bytes"
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// gobgpMessages returns the BMP messages of the bundled gobgpd capture.
func gobgpMessages(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	sr := openbmp.NewStreamReader(bytes.NewReader(demodata.GoBGP), openbmp.KindOpenBMP)
	for {
		f, err := sr.Next()
		if err != nil {
			return out
		}
		_, hl, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(f[hl:]))
	}
}

// TestReconnectQueue: a router reconnects twice while the collector is
// stuck producing its first session's data (a slow broker). The second
// session waits for the first, the third for the second — seconds longer
// than the idle bound for replaced sessions — and every session's messages
// arrive, in order, none interleaved. (A queued session once counted as
// idle, and the third connection closed the second with its data unread:
// 4-23 % of the messages of TestCollectProc20Routers lost on a busy
// machine.)
func TestReconnectQueue(t *testing.T) {
	msgs := gobgpMessages(t)
	if len(msgs) < 10 {
		t.Fatalf("%d messages in the capture", len(msgs))
	}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, m...)
	}
	release := make(chan struct{})
	var held atomic.Bool
	sk := newSink()
	produce := func(ctx context.Context, m Message) error {
		if held.CompareAndSwap(false, true) {
			<-release // the broker is slow: the first session blocks here
		}
		return sk.produce(ctx, m)
	}
	_, addr, _ := start(t, Config{Produce: produce})
	a := netip.MustParseAddr("127.0.0.58")
	for i := 0; i < 3; i++ {
		c := dialFrom(t, a, addr)
		if _, err := c.Write(stream); err != nil {
			t.Fatal(err)
		}
		c.CloseWrite()
		time.Sleep(2*replaceIdle + 200*time.Millisecond)
	}
	close(release)
	got := sk.waitN(t, a, 3*len(msgs))
	if len(got) != 3*len(msgs) {
		t.Fatalf("%d messages, want %d", len(got), 3*len(msgs))
	}
	for i, m := range got {
		if !bytes.Equal(m.Value[m.HeaderLen:], msgs[i%len(msgs)]) {
			t.Fatalf("message %d (session %d, message %d) out of order or damaged", i, i/len(msgs)+1, i%len(msgs))
		}
	}
}
