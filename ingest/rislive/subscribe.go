package rislive

import (
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
)

// Subscribe is what a reader asked for, in the terms of a BGPStream filter,
// that RIS Live can filter on its side (the ris_subscribe message): the
// collectors (-c rrc00 → "host"), the peers ("peer"), the prefixes
// ("prefix" with "moreSpecific"/"lessSpecific") and the elem types ("type"
// and "require"). The zero value subscribes to everything.
//
// It only narrows what RIS Live sends: a subscription is always a superset
// of what was asked (several values of one field become several
// subscriptions, and when there would be too many, or for the firehose,
// which takes one, fields are dropped, i.e. widened). The caller must apply
// its whole filter locally to what arrives — peer ASN, origin, AS path
// regex, communities, time window, and these fields too — so that the
// output is exactly what the filter says.
type Subscribe struct {
	// Collectors are RRC names ("rrc00"); each becomes "host".
	Collectors []string
	// Peers are peer addresses; each becomes "peer".
	Peers []netip.Addr
	// Prefixes are prefixes with how they match; each becomes "prefix".
	Prefixes []PrefixMatch
	// ElemTypes are the elem types wanted (announcement, withdrawal, peer
	// state); empty means all, including the messages that give no elems
	// (OPEN, NOTIFICATION, KEEPALIVE).
	ElemTypes []decode.ElemType
	// Path is passed to RIS Live's "path" as is (its syntax: a comma list
	// of ASNs, ^ first hop, $ origin; not a regex). Empty: none.
	Path string
}

// PrefixMatch is one prefix of a filter and how it matches, as BGPStream's
// "prefix exact|more|less|any P": More and Less both false is exact.
type PrefixMatch struct {
	Prefix     netip.Prefix
	More, Less bool
}

// Subscription is the data of one ris_subscribe message, in RIS Live's
// terms (https://ris-live.ripe.net/manual/).
type Subscription struct {
	// Host is the collector ("rrc21"); empty: all.
	Host string `json:"host,omitempty"`
	// Type is the message type: UPDATE, OPEN, NOTIFICATION, KEEPALIVE or
	// RIS_PEER_STATE; empty: all.
	Type string `json:"type,omitempty"`
	// Require is "announcements" or "withdrawals": only UPDATEs that have
	// some.
	Require string `json:"require,omitempty"`
	// Peer is a peer address.
	Peer string `json:"peer,omitempty"`
	// Path is RIS Live's AS path pattern.
	Path string `json:"path,omitempty"`
	// Prefix lists prefixes (sent as a string when there is one); each is
	// its own subscription on the server.
	Prefix Prefixes `json:"prefix,omitempty"`
	// MoreSpecific and LessSpecific say how Prefix matches (RIS Live's
	// defaults: true and false). Sent only with a prefix.
	MoreSpecific *bool `json:"moreSpecific,omitempty"`
	LessSpecific *bool `json:"lessSpecific,omitempty"`
	// SocketOptions apply to the whole connection; the client always asks
	// for includeRaw, so that UPDATEs decode from the BGP message itself.
	SocketOptions *SocketOptions `json:"socketOptions,omitempty"`
}

// SocketOptions are ris_subscribe's socket-wide options.
type SocketOptions struct {
	// IncludeRaw asks for the "raw" BGP message in hex.
	IncludeRaw bool `json:"includeRaw"`
	// Acknowledge asks for a ris_subscribe_ok reply.
	Acknowledge bool `json:"acknowledge,omitempty"`
}

// Prefixes is Subscription's prefix list: JSON a string when it holds one
// prefix, an array otherwise.
type Prefixes []string

// MarshalJSON writes one prefix as a string, several as an array.
func (p Prefixes) MarshalJSON() ([]byte, error) {
	if len(p) == 1 {
		return json.Marshal(p[0])
	}
	return json.Marshal([]string(p))
}

// UnmarshalJSON reads a string or an array of strings.
func (p *Prefixes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*p = Prefixes{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(p))
}

// MaxSubscriptions bounds the ris_subscribe messages sent on one websocket;
// beyond it fields are widened (peers first, then prefixes, then
// collectors).
const MaxSubscriptions = 32

// Subscriptions returns the ris_subscribe data messages for s on a
// websocket: one per combination of collector, peer, message type and
// prefix match kind, at most MaxSubscriptions, each asking for includeRaw.
func (s Subscribe) Subscriptions() []Subscription {
	return s.build(MaxSubscriptions, true)
}

// Firehose returns the single subscription for the firehose's
// X-RIS-Subscribe header: s widened until one subscription covers it
// (the firehose sends "raw" without being asked).
func (s Subscribe) Firehose() Subscription {
	return s.build(1, false)[0]
}

type typeChoice struct{ typ, require string }

type prefixGroup struct {
	more, less bool
	prefixes   Prefixes
}

func (s Subscribe) build(limit int, raw bool) []Subscription {
	hosts := slices.Compact(slices.Sorted(slices.Values(s.Collectors)))
	var peers []string
	for _, p := range s.Peers {
		peers = append(peers, p.String())
	}
	peers = slices.Compact(slices.Sorted(slices.Values(peers)))
	types := s.types()
	groups := s.prefixGroups()
	n := func() int { return max(len(hosts), 1) * max(len(peers), 1) * max(len(types), 1) * max(len(groups), 1) }
	// Widen (drop a field, or merge the prefix groups) until the
	// combinations fit; a field with one value multiplies nothing.
	if n() > limit && len(peers) > 1 {
		peers = nil
	}
	if n() > limit && len(groups) > 1 {
		groups = mergeGroups(groups)
	}
	if n() > limit && len(hosts) > 1 {
		hosts = nil
	}
	if n() > limit && len(types) > 1 {
		types = nil
	}
	var out []Subscription
	for _, h := range orAll(hosts) {
		for _, p := range orAll(peers) {
			for _, t := range orAllTypes(types) {
				for _, g := range orAllGroups(groups) {
					sub := Subscription{Host: h, Peer: p, Type: t.typ, Require: t.require, Path: s.Path}
					if len(g.prefixes) > 0 {
						sub.Prefix = g.prefixes
						sub.MoreSpecific, sub.LessSpecific = ptr(g.more), ptr(g.less)
					}
					if raw {
						sub.SocketOptions = &SocketOptions{IncludeRaw: true}
					}
					out = append(out, sub)
				}
			}
		}
	}
	return out
}

// types maps the elem types to type/require choices: A and W → UPDATE,
// A → UPDATE requiring announcements, W → withdrawals, S → RIS_PEER_STATE.
func (s Subscribe) types() []typeChoice {
	var a, w, st bool
	for _, t := range s.ElemTypes {
		switch t {
		case decode.ElemAnnouncement, decode.ElemRIB:
			a = true
		case decode.ElemWithdrawal:
			w = true
		case decode.ElemPeerState:
			st = true
		}
	}
	var out []typeChoice
	switch {
	case a && w:
		out = append(out, typeChoice{typ: "UPDATE"})
	case a:
		out = append(out, typeChoice{typ: "UPDATE", require: "announcements"})
	case w:
		out = append(out, typeChoice{typ: "UPDATE", require: "withdrawals"})
	}
	if st {
		out = append(out, typeChoice{typ: "RIS_PEER_STATE"})
	}
	return out
}

// prefixGroups groups the prefixes by match kind (moreSpecific and
// lessSpecific are per subscription).
func (s Subscribe) prefixGroups() []prefixGroup {
	var out []prefixGroup
	for _, pm := range s.Prefixes {
		if !pm.Prefix.IsValid() {
			continue
		}
		i := slices.IndexFunc(out, func(g prefixGroup) bool { return g.more == pm.More && g.less == pm.Less })
		if i < 0 {
			out = append(out, prefixGroup{more: pm.More, less: pm.Less})
			i = len(out) - 1
		}
		p := pm.Prefix.Masked().String()
		if !slices.Contains(out[i].prefixes, p) {
			out[i].prefixes = append(out[i].prefixes, p)
		}
	}
	return out
}

// mergeGroups makes one group matching everything the groups did.
func mergeGroups(gs []prefixGroup) []prefixGroup {
	var m prefixGroup
	for _, g := range gs {
		m.more, m.less = m.more || g.more, m.less || g.less
		m.prefixes = append(m.prefixes, g.prefixes...)
	}
	return []prefixGroup{m}
}

func orAll(v []string) []string {
	if len(v) == 0 {
		return []string{""}
	}
	return v
}

func orAllTypes(v []typeChoice) []typeChoice {
	if len(v) == 0 {
		return []typeChoice{{}}
	}
	return v
}

func orAllGroups(v []prefixGroup) []prefixGroup {
	if len(v) == 0 {
		return []prefixGroup{{}}
	}
	return v
}

func ptr(b bool) *bool { return &b }

// subscribeMessage is the ris_subscribe envelope.
type subscribeMessage struct {
	Type string       `json:"type"`
	Data Subscription `json:"data"`
}

// MarshalMessage returns the ris_subscribe message for sub:
// {"type":"ris_subscribe","data":{...}}.
func (sub Subscription) MarshalMessage() ([]byte, error) {
	return json.Marshal(subscribeMessage{Type: "ris_subscribe", Data: sub})
}

// FromHints returns the subscription that asks RIS Live for what a filter
// requires of every elem (filter.Filter.Hints): its collectors, peers,
// prefixes and elem types. RIB elems have no RIS Live counterpart and are
// left out. The filter itself must still be applied to what arrives.
func FromHints(h filter.Hints) Subscribe {
	sub := Subscribe{Collectors: h.Collectors, Peers: h.PeerIPs}
	for _, p := range h.Prefixes {
		sub.Prefixes = append(sub.Prefixes, PrefixMatch{Prefix: p.Prefix, More: p.More, Less: p.Less})
	}
	for _, t := range h.ElemTypes {
		if t != decode.ElemRIB {
			sub.ElemTypes = append(sub.ElemTypes, t)
		}
	}
	return sub
}
