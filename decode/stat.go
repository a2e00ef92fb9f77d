package decode

import (
	"net/netip"
	"strconv"
)

// Stat is one statistics counter or gauge from a BMP Statistics Report
// (RFC 7854 §4.8, RFC 8671 §5, RFC 9069 §6).
type Stat struct {
	// RouterIP is the monitored router (from the OpenBMP header or the
	// decoder's default).
	RouterIP netip.Addr
	// PeerIP, PeerASN, PeerType and PeerDistinguisher identify the peer.
	PeerIP            netip.Addr
	PeerASN           uint32
	PeerType          BMPPeerType
	PeerDistinguisher uint64
	// Time is the per-peer header time in microseconds.
	Time int64
	// Type is the statistics type (IANA "BMP Statistics Types").
	Type uint16
	// AFI and SAFI are set for the per-AFI/SAFI gauges (types 9, 10, 16,
	// 17 and others of length 11).
	AFI  uint16
	SAFI uint8
	// Value is the counter or gauge value.
	Value uint64
}

// HasFamily reports whether the statistic is per AFI/SAFI.
func (s *Stat) HasFamily() bool { return s.AFI != 0 }

// Name returns the IANA name of the statistic's type (see StatName).
func (s *Stat) Name() string { return StatName(s.Type) }

// statNames are the IANA "BMP Statistics Types" names (RFC 7854 §4.8,
// RFC 8671, RFC 9069 and later registrations).
var statNames = [...]string{
	0:  "rejected-prefixes",
	1:  "duplicate-prefix-advertisements",
	2:  "duplicate-withdraws",
	3:  "cluster-list-loop-updates",
	4:  "as-path-loop-updates",
	5:  "originator-id-loop-updates",
	6:  "as-confed-loop-updates",
	7:  "adj-rib-in-routes",
	8:  "loc-rib-routes",
	9:  "adj-rib-in-routes-per-afi-safi",
	10: "loc-rib-routes-per-afi-safi",
	11: "updates-treat-as-withdraw",
	12: "prefixes-treat-as-withdraw",
	13: "duplicate-update-messages",
	14: "adj-rib-out-pre-policy-routes",
	15: "adj-rib-out-post-policy-routes",
	16: "adj-rib-out-pre-policy-routes-per-afi-safi",
	17: "adj-rib-out-post-policy-routes-per-afi-safi",
}

// StatName returns the IANA name of a BMP statistics type, or "type-N".
func StatName(t uint16) string {
	if int(t) < len(statNames) && statNames[t] != "" {
		return statNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}
