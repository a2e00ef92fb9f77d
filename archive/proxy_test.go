package archive

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// testProxy is a forward proxy for tests: plain requests in absolute form
// and CONNECT tunnels, every one sent to target (the emulator) whatever
// host it names, so that requests for archive.example.com (which does not
// resolve) can only succeed through it.
type testProxy struct {
	*httptest.Server
	target string
	mu     sync.Mutex
	seen   []string
}

func newTestProxy(t *testing.T, target string) *testProxy {
	p := &testProxy{target: target}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *testProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if r.Method == http.MethodConnect {
		p.seen = append(p.seen, "CONNECT "+r.Host)
	} else {
		p.seen = append(p.seen, r.Method+" "+r.URL.String())
	}
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n")
		go func() { io.Copy(up, conn); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Host = p.target
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *testProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestProxyOption sends downloads and listings through HTTPOptions.Proxy
// (how a test reaches a loopback server through a proxy: Go never proxies
// loopback addresses from the environment).
func TestProxyOption(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	px := newTestProxy(t, srv.Addr())
	pu, _ := url.Parse(px.URL)
	h := fastHTTP()
	h.Proxy = http.ProxyURL(pu)
	ix, err := NewArchiveIndex(ArchiveOptions{RISBase: "http://archive.example.com/ris", HTTP: h})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ix.Find(testCtx(t), Query{Collectors: []string{"rrc03"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 1, 0)}}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("%v %v", ds, err)
	}
	f := newFetcher(t, FetchOptions{HTTP: h})
	b, err := readDump(testCtx(t), f, ds[0])
	if err != nil || !bytes.Equal(b, srv.Data("/ris/"+rrc03a)) {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	got := strings.Join(px.requests(), "\n")
	for _, want := range []string{"GET http://archive.example.com/ris/rrc03/2010.02/", "GET http://archive.example.com/ris/" + rrc03a} {
		if !strings.Contains(got, want) {
			t.Errorf("the proxy saw:\n%s\nwant a line %q", got, want)
		}
	}
}

// TestProxyFromEnvironment runs the default client (http.ProxyFromEnvironment)
// in a fresh process: HTTP_PROXY carries an http download, HTTPS_PROXY
// tunnels an https one (CONNECT), and NO_PROXY sends the request direct
// (where archive.example.com does not resolve).
func TestProxyFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	plain := archivetest.New(t, archivetest.Options{})
	tlsSrv := archivetest.New(t, archivetest.Options{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, tlsSrv.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	d, p := dumpOf(t, plain, rrc15a)
	noEnv := []string{"http_proxy=", "https_proxy=", "no_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY="}

	t.Run("HTTP_PROXY", func(t *testing.T) {
		px := newTestProxy(t, plain.Addr())
		d := d
		d.URL = "http://archive.example.com" + p
		got, err := runHelper(t, helper(t, []Dump{d}, append(noEnv, "HTTP_PROXY="+px.URL)...))
		if err != nil {
			t.Fatal(err)
		}
		if want := wantLines(plain, []Dump{d}, []string{p}); !sameStrings(got, want) {
			t.Errorf("read %q, want %q", got, want)
		}
		if r := px.requests(); len(r) != 1 || r[0] != "GET "+d.URL {
			t.Errorf("the proxy saw %q", r)
		}
	})
	t.Run("HTTPS_PROXY", func(t *testing.T) {
		px := newTestProxy(t, tlsSrv.Addr())
		d := d
		d.URL = "https://archive.example.com" + p
		got, err := runHelper(t, helper(t, []Dump{d}, append(noEnv, "HTTPS_PROXY="+px.URL, "ARCHIVE_CA="+ca)...))
		if err != nil {
			t.Fatal(err)
		}
		if want := wantLines(tlsSrv, []Dump{d}, []string{p}); !sameStrings(got, want) {
			t.Errorf("read %q, want %q", got, want)
		}
		if r := px.requests(); len(r) != 1 || r[0] != "CONNECT archive.example.com:443" {
			t.Errorf("the proxy saw %q", r)
		}
		if n := tlsSrv.Requests(p); n != 1 {
			t.Errorf("the TLS server saw %d requests", n)
		}
	})
	t.Run("NO_PROXY", func(t *testing.T) {
		px := newTestProxy(t, plain.Addr())
		d := d
		d.URL = "http://archive.example.com" + p
		_, err := runHelper(t, helper(t, []Dump{d}, append(noEnv, "HTTP_PROXY="+px.URL, "NO_PROXY=.example.com")...))
		if err == nil || !strings.Contains(err.Error(), d.URL) {
			t.Errorf("direct request to an unresolvable host: %v", err)
		}
		if r := px.requests(); len(r) != 0 {
			t.Errorf("the proxy saw %q despite NO_PROXY", r)
		}
	})
}
