// Package archivetest is a FAKE of the public BGP archives and their
// brokers, for tests only: an httptest server shaped like the RIPE RIS
// (data.ris.ripe.net) and RouteViews (archive.routeviews.org) archives —
// Apache/nginx directory listings in both the old (table) and new (<pre>)
// styles, file URLs with Range support — that serves the REAL dumps of
// ../shared/testdata/real under their real names and dates, plus emulators
// of the CAIDA broker API v2 (/data) and the BGPKIT broker API v3
// (/search) answering from the same catalogue.
//
// It exists because no real archive server can run here. Tests use it to
// count requests per path, publish dumps while a reader polls, and inject
// faults per path: dropped connections, HTTP errors, slow bodies, ignored
// Range headers, replaced bodies and listing styles.
//
// Layout on the server: /ris/<RIS archive path>, /routeviews/<RouteViews
// archive path>, /caida/v2/data, /bgpkit/v3/broker/search.
//
// It is not a general web server, not a broker, and nothing outside tests
// imports it.
package archivetest

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Entries replaces the catalogue (default: Catalogue()).
	Entries []Entry
	// Listing forces one listing style everywhere: "table" (Apache's
	// HTMLTable, the old RIS and the RouteViews style) or "pre" (nginx
	// autoindex, the new RIS style). Default: RIS "pre", RouteViews
	// "table".
	Listing string
	// Truncated serves the RouteViews RIB slices from their truncated
	// originals (the first MiB of the real files: a truncated dump).
	Truncated bool
	// Hold lists URL paths (Entry.URLPath) that answer 404 and are absent
	// from listings and broker answers until Publish.
	Hold []string
	// BrokerCap makes the CAIDA broker answer, like the public one, at
	// most this much archive per request, counted from the earliest
	// interval start (default 2 h; negative: no cap).
	BrokerCap time.Duration
	// TLS serves HTTPS (with httptest's certificate, valid for
	// example.com and its subdomains and 127.0.0.1; see CertPool).
	TLS bool
}

// Fault is what a path does instead of (or while) answering normally.
// Counted faults (Times, Drops) apply to the next requests and then stop.
type Fault struct {
	// Status answers this HTTP status with an empty body, Times times
	// (0: every request).
	Status, Times int
	// DropAfter closes the connection after this many body bytes, for the
	// next Drops requests (0: every request).
	DropAfter int64
	Drops     int
	// ChunkSize and ChunkDelay write the body in chunks of ChunkSize bytes
	// (default 16 KiB), sleeping ChunkDelay before each but the first (a
	// slow server: the headers and first chunk come at once).
	ChunkSize  int
	ChunkDelay time.Duration
	// HeaderDelay waits this long before answering at all.
	HeaderDelay time.Duration
	// NoRange ignores Range headers: every answer is 200 with the whole file.
	NoRange bool
	// NoLength sends no Content-Length (the body is chunked).
	NoLength bool
	// Body answers this body instead (e.g. a broker answer), with Status
	// when set (counted as above), else 200; ContentType defaults to
	// application/json.
	Body, ContentType string
	// Listing is the listing style ("table" or "pre") of this directory.
	Listing string
}

// Request is what the server saw of one request.
type Request struct {
	Range string
	Query url.Values
	Time  time.Time
}

// Server is the running emulator.
type Server struct {
	tb   testing.TB
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	entries  map[string]*served // by URL path, published or held
	streams  []*served
	faults   map[string]*Fault
	log      map[string][]Request
	closed   bool
	modStart time.Time
}

type served struct {
	Entry
	data      []byte
	published bool
	added     time.Time
}

// New starts an emulator serving o.Entries (default the real catalogue)
// and stops it when the test ends. It skips tb when the corpus is absent.
func New(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.Entries == nil {
		o.Entries = Catalogue()
	}
	if o.BrokerCap == 0 {
		o.BrokerCap = 2 * time.Hour
	}
	s := &Server{tb: tb, opts: o, entries: map[string]*served{}, faults: map[string]*Fault{}, log: map[string][]Request{}}
	hold := map[string]bool{}
	for _, p := range o.Hold {
		hold[p] = true
	}
	now := time.Now()
	for _, e := range o.Entries {
		s.add(tb, e, !hold[e.URLPath()], now)
	}
	for p := range hold {
		if _, ok := s.entries[p]; !ok {
			tb.Fatalf("archivetest: Hold %s: no such entry", p)
		}
	}
	if o.TLS {
		s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	} else {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *Server) add(tb testing.TB, e Entry, published bool, now time.Time) *served {
	tb.Helper()
	sv := &served{Entry: e, published: published, added: now}
	if e.Transport == "kafka" {
		s.streams = append(s.streams, sv)
		return sv
	}
	src := e.Source
	if s.opts.Truncated && e.Truncated != "" {
		src = e.Truncated
	}
	if e.Data != nil {
		sv.data = e.Data
	} else {
		sv.data = Bytes(tb, src)
	}
	s.entries[e.URLPath()] = sv
	return sv
}

// URL is the server's root URL.
func (s *Server) URL() string { return s.srv.URL }

// RISBase is the root of the emulated RIS archive (like
// https://data.ris.ripe.net).
func (s *Server) RISBase() string { return s.srv.URL + "/ris" }

// RouteViewsBase is the root of the emulated RouteViews archive (like
// https://archive.routeviews.org).
func (s *Server) RouteViewsBase() string { return s.srv.URL + "/routeviews" }

// CAIDABrokerURL is the base URL of the emulated CAIDA broker v2 (its
// query endpoint is CAIDABrokerURL()+"/data").
func (s *Server) CAIDABrokerURL() string { return s.srv.URL + "/caida/v2" }

// BGPKITURL is the base URL of the emulated BGPKIT broker v3 (its query
// endpoint is BGPKITURL()+"/search").
func (s *Server) BGPKITURL() string { return s.srv.URL + "/bgpkit/v3/broker" }

// DumpURL is the URL the server serves e at.
func (s *Server) DumpURL(e Entry) string { return s.srv.URL + e.URLPath() }

// CertPool trusts the server's certificate (with Options.TLS).
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// CertPEM is the server's certificate in PEM (with Options.TLS), for a
// process that must trust it.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Addr is the listener's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Data returns the bytes served at a URL path.
func (s *Server) Data(urlPath string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.entries[urlPath]; sv != nil {
		return sv.data
	}
	s.tb.Fatalf("archivetest: no entry at %s", urlPath)
	return nil
}

// Published returns the published entries (files and streams), sorted.
func (s *Server) Published() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for _, sv := range s.all() {
		if sv.published {
			out = append(out, sv.Entry)
		}
	}
	SortEntries(out)
	return out
}

func (s *Server) all() []*served {
	out := make([]*served, 0, len(s.entries)+len(s.streams))
	for _, sv := range s.entries {
		out = append(out, sv)
	}
	return append(out, s.streams...)
}

// Publish makes a held entry (Options.Hold) appear: its file answers,
// listings and broker answers include it, and the CAIDA broker reports it
// as added now.
func (s *Server) Publish(urlPath string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.entries[urlPath]
	if sv == nil {
		s.tb.Fatalf("archivetest: Publish %s: no such entry", urlPath)
		return
	}
	sv.published, sv.added = true, time.Now()
}

// PublishEntry adds a new entry (a file whose Source is a corpus file, or
// a stream resource) and publishes it now.
func (s *Server) PublishEntry(e Entry) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(s.tb, e, true, time.Now())
}

// SetFault installs (or with the zero Fault, removes) a fault on a URL
// path ("/ris/rrc03/2010.02/updates.20100227.1600.gz", "/caida/v2/data",
// or a directory with its trailing slash).
func (s *Server) SetFault(urlPath string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, urlPath)
		return
	}
	s.faults[urlPath] = &f
}

// Requests counts the requests made to a URL path (every one, faulted or
// not, including resumed downloads).
func (s *Server) Requests(urlPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log[urlPath])
}

// Log returns the requests made to a URL path, in order.
func (s *Server) Log(urlPath string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log[urlPath]...)
}

// TotalRequests counts every request the server has seen.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.log {
		n += len(l)
	}
	return n
}

// Close stops the server (a later request fails to connect). It is safe
// to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// serve records the request, applies the path's fault and routes it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	s.mu.Lock()
	s.log[p] = append(s.log[p], Request{Range: r.Header.Get("Range"), Query: r.URL.Query(), Time: time.Now()})
	var f Fault
	if pf := s.faults[p]; pf != nil {
		f = *pf
		if pf.Status != 0 && pf.Times > 0 {
			if pf.Times--; pf.Times == 0 {
				pf.Status = 0
			}
		}
		if pf.DropAfter > 0 && pf.Drops > 0 {
			if pf.Drops--; pf.Drops == 0 {
				pf.DropAfter = 0
			}
		}
	}
	s.mu.Unlock()

	if f.HeaderDelay > 0 {
		select {
		case <-time.After(f.HeaderDelay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Body != "" {
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if f.Status != 0 {
			w.WriteHeader(f.Status)
		}
		_, _ = w.Write([]byte(f.Body))
		return
	}
	if f.Status != 0 {
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}
	switch {
	case p == "/caida/v2/data":
		s.caida(w, r)
	case p == "/bgpkit/v3/broker/search":
		s.bgpkit(w, r)
	case strings.HasPrefix(p, "/ris/") || strings.HasPrefix(p, "/routeviews/"):
		s.archive(w, r, f)
	default:
		http.NotFound(w, r)
	}
}

// archive serves a dump file or a directory listing.
func (s *Server) archive(w http.ResponseWriter, r *http.Request, f Fault) {
	p := r.URL.Path
	s.mu.Lock()
	sv := s.entries[p]
	var data []byte
	var mod time.Time
	if sv != nil && sv.published {
		data, mod = sv.data, sv.End()
	}
	s.mu.Unlock()
	if data != nil {
		if f.NoRange {
			r.Header.Del("Range")
		}
		fw := &faultWriter{ResponseWriter: w, f: f, ctx: r}
		if f.NoLength {
			// ServeContent sets Content-Length for a whole answer; write it
			// ourselves so that the body is chunked instead.
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = fw.Write(data)
			return
		}
		http.ServeContent(fw, r, "", mod, bytes.NewReader(data))
		return
	}
	if !strings.HasSuffix(p, "/") {
		if s.isDir(p + "/") {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	items, ok := s.dir(p)
	if !ok {
		http.NotFound(w, r)
		return
	}
	style := f.Listing
	if style == "" {
		style = s.opts.Listing
	}
	if style == "" {
		style = "table"
		if strings.HasPrefix(p, "/ris/") {
			style = "pre"
		}
	}
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	var b bytes.Buffer
	if style == "pre" {
		renderPre(&b, p, items)
	} else {
		renderTable(&b, p, items)
	}
	_, _ = w.Write(b.Bytes())
}

// faultWriter applies a Fault to a response body: slow chunks, a dropped
// connection after DropAfter bytes.
type faultWriter struct {
	http.ResponseWriter
	f       Fault
	ctx     *http.Request
	written int64
}

func (fw *faultWriter) Write(p []byte) (int, error) {
	chunk := int64(fw.f.ChunkSize)
	if chunk <= 0 {
		chunk = 16 << 10
	}
	n := 0
	for len(p) > 0 {
		pos := fw.written % chunk
		if pos == 0 && fw.written > 0 && fw.f.ChunkDelay > 0 {
			fw.flush()
			select {
			case <-time.After(fw.f.ChunkDelay):
			case <-fw.ctx.Context().Done():
				return n, fw.ctx.Context().Err()
			}
		}
		c := min(int64(len(p)), chunk-pos)
		if fw.f.DropAfter > 0 {
			left := fw.f.DropAfter - fw.written
			if left <= 0 {
				fw.drop()
			}
			c = min(c, left)
		}
		m, err := fw.ResponseWriter.Write(p[:c])
		n += m
		fw.written += int64(m)
		if err != nil {
			return n, err
		}
		p = p[c:]
	}
	if fw.f.DropAfter > 0 && fw.written >= fw.f.DropAfter {
		fw.drop()
	}
	return n, nil
}

func (fw *faultWriter) flush() {
	if fl, ok := fw.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// drop sends what was written and aborts the connection mid-body.
func (fw *faultWriter) drop() {
	fw.flush()
	panic(http.ErrAbortHandler)
}

// dirItem is one line of a listing.
type dirItem struct {
	name string // with a trailing slash for a directory
	size int64
	mod  time.Time
}

func (s *Server) isDir(p string) bool {
	_, ok := s.dir(p)
	return ok
}

// dir lists the published children of the directory p ("/ris/rrc03/").
func (s *Server) dir(p string) ([]dirItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]*dirItem{}
	for up, sv := range s.entries {
		if !sv.published || !strings.HasPrefix(up, p) {
			continue
		}
		rest := up[len(p):]
		name, sub, isDir := strings.Cut(rest, "/")
		_ = sub
		it := seen[name]
		if it == nil {
			it = &dirItem{name: name}
			if isDir {
				it.name += "/"
				it.size = -1
			}
			seen[name] = it
		}
		if !isDir {
			it.size = int64(len(sv.data))
		}
		if m := sv.End(); m.After(it.mod) {
			it.mod = m
		}
	}
	if len(seen) == 0 {
		// A project root with nothing published is still a directory.
		return nil, p == "/ris/" || p == "/routeviews/"
	}
	items := make([]dirItem, 0, len(seen))
	for _, it := range seen {
		items = append(items, *it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	return items, true
}

// humanSize formats a size as Apache and nginx do without exact sizes:
// bytes below 1 KiB, else one decimal below 10 (6.4M), else whole units.
func humanSize(n int64) string {
	if n < 0 {
		return "-"
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	v, unit := float64(n)/1024, "K"
	for _, u := range []string{"M", "G"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	if v < 9.95 {
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}

// renderTable writes an Apache 2.4 "HTMLTable" autoindex page (the old
// RIS and the RouteViews style; names longer than 23 characters are cut
// in the link text as Apache does, the href stays whole).
func renderTable(b *bytes.Buffer, p string, items []dirItem) {
	title := strings.TrimSuffix(p, "/")
	fmt.Fprintf(b, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of %s</title>\n </head>\n <body>\n<h1>Index of %s</h1>\n  <table>\n", title, title)
	b.WriteString("   <tr><th valign=\"top\"><img src=\"/icons/blank.gif\" alt=\"[ICO]\"></th><th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th><th><a href=\"?C=S;O=A\">Size</a></th><th><a href=\"?C=D;O=A\">Description</a></th></tr>\n")
	b.WriteString("   <tr><th colspan=\"5\"><hr></th></tr>\n")
	parent := p[:strings.LastIndex(strings.TrimSuffix(p, "/"), "/")+1]
	fmt.Fprintf(b, "<tr><td valign=\"top\"><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"></td><td><a href=\"%s\">Parent Directory</a>       </td><td>&nbsp;</td><td align=\"right\">  - </td><td>&nbsp;</td></tr>\n", parent)
	for _, it := range items {
		text := it.name
		if len(text) > 23 {
			text = text[:20] + "..&gt;"
		}
		icon, alt := "/icons/unknown.gif", "[   ]"
		if it.size < 0 {
			icon, alt = "/icons/folder.gif", "[DIR]"
		}
		fmt.Fprintf(b, "<tr><td valign=\"top\"><img src=\"%s\" alt=\"%s\"></td><td><a href=\"%s\">%s</a></td><td align=\"right\">%s  </td><td align=\"right\">%4s </td><td>&nbsp;</td></tr>\n",
			icon, alt, url.PathEscape(strings.TrimSuffix(it.name, "/"))+suffixSlash(it.name), text, it.mod.Format("2006-01-02 15:04"), humanSize(it.size))
	}
	b.WriteString("   <tr><th colspan=\"5\"><hr></th></tr>\n</table>\n</body></html>\n")
}

func suffixSlash(name string) string {
	if strings.HasSuffix(name, "/") {
		return "/"
	}
	return ""
}

// renderPre writes an nginx autoindex page (the new RIS style): one
// <a> per line in a <pre>, the name padded to 50 columns, then the date
// and a human size.
func renderPre(b *bytes.Buffer, p string, items []dirItem) {
	fmt.Fprintf(b, "<html>\n<head><title>Index of %s</title></head>\n<body bgcolor=\"white\">\n<h1>Index of %s</h1><hr><pre><a href=\"../\">../</a>\n", p, p)
	for _, it := range items {
		pad := max(1, 51-len(it.name))
		fmt.Fprintf(b, "<a href=\"%s\">%s</a>%s%s %19s\n", it.name, it.name, strings.Repeat(" ", pad), it.mod.Format("02-Jan-2006 15:04"), humanSize(it.size))
	}
	b.WriteString("</pre><hr></body>\n</html>\n")
}

// writeJSON answers v as JSON with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
