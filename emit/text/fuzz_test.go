package text

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// FuzzFormat checks the formatters on arbitrary addresses, prefixes, times
// and labels: addresses must parse back to themselves (both renderings),
// every line must end in exactly one newline with the column count of its
// format, and JSON must be valid. Seeds: addresses from the corpus's
// bgpdump output.
func FuzzFormat(f *testing.F) {
	f.Add(make([]byte, 16), uint8(64), int64(1445565678509481), "singlefile")
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(48), int64(0), "ris")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 193, 0, 0, 56}, uint8(128), int64(-1), "a\"b")
	refs, _ := filepath.Glob(filepath.Join(corpusDir, "_reference", "bgpdump-m", "mrtparse_*.gz"))
	for _, ref := range refs {
		if b, err := os.ReadFile(ref); err == nil && len(b) > 16 {
			f.Add(b[len(b)-16:], uint8(len(b)), int64(len(b))*1e6, filepath.Base(ref))
		}
	}
	f.Fuzz(func(t *testing.T, addr []byte, bits uint8, us int64, label string) {
		var a netip.Addr
		switch {
		case len(addr) >= 16:
			a = netip.AddrFrom16([16]byte(addr))
		case len(addr) >= 4:
			a = netip.AddrFrom4([4]byte(addr))
		default:
			return
		}
		for name, text := range map[string][]byte{"ntop": appendAddrNtop(nil, a), "bgpdump": appendAddrBGPDump(nil, a)} {
			back, err := netip.ParseAddr(string(text))
			if err != nil {
				t.Fatalf("%s(%v) = %q does not parse: %v", name, a, text, err)
			}
			if back.Unmap() != a.Unmap() || (a.Is4() && !back.Is4()) {
				t.Fatalf("%s(%v) = %q parses back to %v", name, a, text, back)
			}
		}
		p, _ := a.Prefix(int(bits) % (a.BitLen() + 1))
		rec := decode.Record{Format: decode.Format(bits % 7), MRTSubtype: uint16(bits % 13), Time: us, Project: label, Collector: label}
		attr := new(decode.Attrs)
		attr.ASPath.AppendSegment(bits%5, uint32(us), 1)
		attr.Communities = []decode.Community{decode.Community(us)}
		for et := decode.ElemRIB; et <= decode.ElemPeerState; et++ {
			e := decode.Elem{Type: et, PeerIP: a, PeerASN: uint32(us), Prefix: p, NextHop: a, Attrs: attr,
				HasPathID: bits&1 == 1, PathID: uint32(bits)}
			if et >= decode.ElemWithdrawal {
				e.Attrs = nil
			}
			line := AppendBGPReaderElem(nil, &rec, &e)
			if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("bgpreader line %q", line)
			}
			if bytes.Count(line, []byte("|")) != 15 {
				t.Fatalf("bgpreader line has %d separators: %q", bytes.Count(line, []byte("|")), line)
			}
			if l := AppendBGPDumpElem(nil, &rec, &e); !bytes.HasSuffix(l, []byte("\n")) || bytes.Count(l, []byte("\n")) != 1 {
				t.Fatalf("bgpdump line %q", l)
			}
			if j := AppendJSONElem(nil, &rec, &e); !json.Valid(j) {
				t.Fatalf("invalid JSON %q", j)
			}
		}
		if j := AppendJSONRecord(nil, &rec, 1); !json.Valid(j) {
			t.Fatalf("invalid record JSON %q", j)
		}
	})
}
