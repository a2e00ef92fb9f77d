package text

import (
	"net/netip"
	"testing"
)

// Expected strings come from glibc's inet_ntop (printf "%s" of inet_ntop in
// C on Debian bookworm) and from `bgpdump -T` and bgpdump -m output in the
// real corpus, not from this code.
func TestAppendAddrNtop(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"0.0.0.0", "0.0.0.0"},
		{"::", "::"},
		{"::1", "::1"},
		{"::2", "::2"},
		{"::ffff:192.168.2.1", "::ffff:192.168.2.1"},
		{"::192.168.1.2", "::192.168.1.2"},
		{"fe80::", "fe80::"},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"2001:7f8:30::2:1:0:8447", "2001:7f8:30:0:2:1:0:8447"},
		{"2001:200:0:fe00::6249:0", "2001:200:0:fe00::6249:0"},
		{"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},
		{"::1:0:0:0", "::1:0:0:0"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
	} {
		got := string(appendAddrNtop(nil, netip.MustParseAddr(tc.in)))
		if got != tc.want {
			t.Errorf("ntop(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := appendAddrNtop(nil, netip.Addr{}); len(got) != 0 {
		t.Errorf("invalid address printed %q", got)
	}
}

func TestAppendAddrBGPDump(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// bgpdump -T round trips.
		{"fe80::", "fe80::"},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:192.168.2.1", "::ffff:192.168.2.1"},
		{"::192.168.1.2", "::192.168.1.2"},
		{"2001:7f8:30::2:1:0:8447", "2001:7f8:30::2:1:0:8447"},
		// Lines of _reference/bgpdump-m.
		{"2001:200:0:fe00::6249:0", "2001:200:0:fe00::6249:0"},
		{"2001:7f8:1::a500:1273:1", "2001:7f8:1::a500:1273:1"},
		{"2001:19f0:5001:53f:5400:1ff:fe9c:264e", "2001:19f0:5001:53f:5400:1ff:fe9c:264e"},
		{"::", "::"},
		{"::1", "::1"},
		// fmt_ipv6 compresses a lone zero group, inet_ntop does not.
		{"2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1"},
		{"::2", "::0.0.0.2"},
		{"10.0.0.1", "10.0.0.1"},
	} {
		got := string(appendAddrBGPDump(nil, netip.MustParseAddr(tc.in)))
		if got != tc.want {
			t.Errorf("bgpdump(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(appendAddrBGPDump(nil, netip.Addr{})); got != "0.0.0.0" {
		t.Errorf("invalid address printed %q, want 0.0.0.0", got)
	}
}
