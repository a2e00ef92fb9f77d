package archive

import (
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// listItem is one entry of a directory listing.
type listItem struct {
	name  string // base name; a directory ends in '/'
	size  int64  // bytes, when exact; else 0
	rough int64  // the listing's size, exact or rounded (6.4M), 0 if none
}

var (
	hrefRE = regexp.MustCompile(`(?i)<a\s[^>]*href\s*=\s*"([^"]*)"`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
	sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$`)
)

// parseListing extracts the entries of an HTML directory listing: Apache
// autoindex in its table style (the old RIS and the RouteViews pages: one
// <tr> per entry) or its <pre> style, and nginx autoindex (the new RIS
// pages: one <a> per line in a <pre>). Each line holding an href gives one
// entry: the href's base name (links to sorting queries, parents and other
// sites are skipped), and the size is the line's last word that reads as
// one ("14", "6.4M", "98K"; "-" for a directory). Apache cuts long names in
// the link text ("updates.20221001.000..>"): only the href is trusted.
func parseListing(body []byte, dir string) []listItem {
	du, err := url.Parse(dir)
	if err != nil {
		return nil
	}
	if !strings.HasSuffix(du.Path, "/") {
		du.Path += "/"
	}
	var out []listItem
	seen := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		m := hrefRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, ok := hrefName(du, html.UnescapeString(m[1]))
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		it := listItem{name: name}
		// The text of the line after the link: date and size.
		rest := line[strings.Index(line, m[0])+len(m[0]):]
		if i := strings.Index(strings.ToLower(rest), "</a>"); i >= 0 {
			rest = rest[i+4:]
		}
		text := html.UnescapeString(tagRE.ReplaceAllString(rest, " "))
		f := strings.Fields(text)
		for i := len(f) - 1; i >= 0; i-- {
			if n, exact, ok := parseSize(f[i]); ok {
				it.rough = n
				if exact {
					it.size = n
				}
				break
			}
		}
		out = append(out, it)
	}
	return out
}

// hrefName returns the entry name of a listing link: the element of dir
// it names (with '/' for a directory), or false for links that are not
// entries (sort links "?C=N;O=A", the parent, links elsewhere).
func hrefName(dir *url.URL, href string) (string, bool) {
	if href == "" || strings.HasPrefix(href, "?") || strings.HasPrefix(href, "#") {
		return "", false
	}
	u, err := url.Parse(href)
	if err != nil {
		return "", false
	}
	r := dir.ResolveReference(u)
	if r.Host != dir.Host || r.RawQuery != "" {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.Path, dir.Path)
	if !ok || rest == "" {
		return "", false
	}
	name, tail, isDir := strings.Cut(rest, "/")
	if name == "" || name == "." || name == ".." || (isDir && tail != "") {
		return "", false
	}
	if isDir {
		name += "/"
	}
	return name, true
}

// parseSize reads a listing size: "14" (exact bytes), "6.4M", "98K",
// "1.5G" (rounded: exact is false).
func parseSize(s string) (int64, bool, bool) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false, false
	}
	if m[2] == "" && !strings.Contains(m[1], ".") {
		n, err := strconv.ParseInt(m[1], 10, 64)
		return n, true, err == nil
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false, false
	}
	mult := map[string]float64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[2]]
	return int64(v * mult), false, true
}

// dumpNameRE matches the dump file names of both archives:
// bview.YYYYMMDD.HHMM.gz and updates.YYYYMMDD.HHMM.gz (RIS),
// rib.YYYYMMDD.HHMM.bz2 and updates.YYYYMMDD.HHMM.bz2 (RouteViews).
var dumpNameRE = regexp.MustCompile(`^(bview|rib|updates)\.([0-9]{8})\.([0-9]{4})\.(gz|bz2)$`)

// minValidTime is the floor below which a parsed name is not data
// (bgpkit-broker's MIN_VALID_TIMESTAMP; rrc00 started 1999-10).
var minValidTime = time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC)

// parseDumpName returns the type and start time named by a dump file
// name, or false.
func parseDumpName(name string) (typ string, start time.Time, ok bool) {
	m := dumpNameRE.FindStringSubmatch(name)
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.ParseInLocation("20060102.1504", m[2]+"."+m[3], time.UTC)
	if err != nil || t.Before(minValidTime) {
		return "", time.Time{}, false
	}
	typ = TypeUpdates
	if m[1] != "updates" {
		typ = TypeRIBs
	}
	return typ, t, true
}
