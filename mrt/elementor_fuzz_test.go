package mrt

import (
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// FuzzElementor feeds arbitrary record bodies under every MRT type and
// subtype the Elementor knows, after a real PEER_INDEX_TABLE, seeded with
// real records of the corpus. It checks that nothing panics and that every
// elem it yields is consistent (a prefix for R/A/W, attributes for R/A).
func FuzzElementor(f *testing.F) {
	needCorpus(f)
	var index []byte
	for _, rel := range []string{"mrtparse/bird-mrtdump_rib", "mrtparse/openbgpd_rib_table", "mrtparse/quagga_bgp",
		"mrtparse/openbgpd_rib_table-mp", "bgpkit/rrc01_2000.11_updates.20001104.0124.gz",
		"ripe-bgpdump/bview.ipv6_unicast_add_path.gz", "mrtparse/bird6_bgp"} {
		for i, r := range frames(slurp(f, rel)) {
			if r.Type == TypeTableDumpV2 && r.Subtype == PeerIndexTable && index == nil {
				index = append([]byte(nil), r.Body...)
			}
			if i < 60 {
				f.Add(r.Type, r.Subtype, r.Body)
			}
		}
	}
	el := NewElementor()
	var rec decode.Record
	var elems []decode.Elem
	f.Fuzz(func(t *testing.T, typ, subtype uint16, body []byte) {
		idx := RawRecord{Header: Header{Type: TypeTableDumpV2, Subtype: PeerIndexTable}, Body: index}
		elems, _ = el.Elems(&rec, &idx, elems[:0])
		raw := RawRecord{Header: Header{Type: typ, Subtype: subtype, Length: uint32(len(body))}, Body: body}
		elems, _ = el.Elems(&rec, &raw, elems[:0])
		if rec.Status != decode.StatusValid && rec.Err == nil && rec.Status != decode.StatusFilteredSource {
			t.Fatalf("status %v without an error", rec.Status)
		}
		for i := range elems {
			e := &elems[i]
			switch e.Type {
			case decode.ElemRIB, decode.ElemAnnouncement:
				if e.Attrs == nil || !e.Prefix.IsValid() {
					t.Fatalf("elem %d %v: attrs %v prefix %v", i, e.Type, e.Attrs != nil, e.Prefix)
				}
				_ = e.Attrs.ASPath.String()
			case decode.ElemWithdrawal:
				if !e.Prefix.IsValid() {
					t.Fatalf("withdrawal without prefix")
				}
			}
		}
	})
}
