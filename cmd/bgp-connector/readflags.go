package main

import (
	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/filter"
)

// addFilterFlags registers bgpreader's filtering flags on fs and returns the
// struct they fill. The read command calls filter.Flags.Build once flags are
// parsed, and applies Count (-n) itself: it is a limit, not a filter.
func addFilterFlags(fs *pflag.FlagSet) *filter.Flags {
	fl := &filter.Flags{}
	fs.StringVarP(&fl.Filter, "filter", "f", "",
		`filter string in BGPStream's language, e.g. "collector rrc00 and type updates and prefix more 10.0.0.0/8"; `+
			`also or, not, parentheses, extcommunity, largecommunity, peerip, nexthop, pathid, time`)
	fs.StringArrayVarP(&fl.Projects, "filter-project", "p", nil,
		"only records of this project (ris, routeviews, singlefile...); repeatable or comma-separated")
	fs.StringArrayVarP(&fl.Collectors, "filter-collector", "c", nil,
		"only records of this collector (rrc00, route-views2...); repeatable or comma-separated")
	fs.StringArrayVarP(&fl.Routers, "filter-router", "R", nil,
		"only records of this BMP router; repeatable or comma-separated")
	fs.StringArrayVarP(&fl.Types, "record-type", "t", nil,
		"only records of this type: ribs or updates; repeatable")
	fs.StringArrayVarP(&fl.PeerASNs, "peer-asn", "j", nil,
		"only elems from this peer ASN; repeatable or comma-separated")
	fs.StringArrayVarP(&fl.NotPeerASNs, "not-peer-asn", "J", nil,
		"drop elems from this peer ASN; repeatable or comma-separated")
	fs.StringArrayVarP(&fl.OriginASNs, "origin-asn", "a", nil,
		"only elems whose AS path originates at this ASN; repeatable or comma-separated")
	fs.StringArrayVarP(&fl.Prefixes, "prefix", "k", nil,
		`only elems for this prefix or a more specific one; prefix with a mode to change it: "exact 192.0.2.0/24", "less ...", "any ..."; repeatable`)
	fs.StringArrayVarP(&fl.Communities, "community", "y", nil,
		`only elems carrying this community asn:value, either half may be * (e.g. "*:666"); repeatable`)
	fs.StringArrayVarP(&fl.ASPaths, "aspath", "A", nil,
		`only elems whose AS path matches this Cisco-style regex ('_' = boundary, leading '!' negates), e.g. "_3356_"; repeatable, all must match`)
	fs.StringArrayVarP(&fl.Windows, "time-window", "w", nil,
		"only records in the window start[,end] (unix seconds, RFC 3339 or a date; end inclusive; no end = open)")
	fs.StringVarP(&fl.Interval, "interval", "I", "",
		`only records of the last "N unit" before now (e.g. "30 m", "1 h", "2 days")`)
	fs.IntVarP(&fl.Count, "count", "n", 0,
		"process at most this many records (0 = all)")
	return fl
}
