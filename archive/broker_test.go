package archive

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

const caidaPath = "/caida/v2/data"

var rrc0315 = []string{"rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1610.gz"}

// TestCAIDABrokerChunking checks that a window longer than the public
// broker's answer cap is asked in chunks: the emulator caps each answer to
// 2 h of archive from the interval start, like the public broker.
func TestCAIDABrokerChunking(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	q := Query{Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{{ut(2010, 2, 27, 13, 0, 0), ut(2010, 2, 27, 17, 0, 0)}}}
	want := expect(t, rrc0315...)

	// One request for the 4 h window: the broker's cap hides the dumps
	// that start 3 h in.
	one, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), Chunk: 4 * time.Hour, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := one.Find(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 || srv.Requests(caidaPath) != 1 {
		t.Fatalf("unchunked: %d dumps in %d requests; the emulator's cap is not biting", len(ds), srv.Requests(caidaPath))
	}

	// Hourly chunks (the default): 4 requests, every dump.
	b, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err = b.Find(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if got := labels(ds); !sameStrings(got, want) {
		t.Errorf("chunked:\n got  %q\n want %q", got, want)
	}
	if n := srv.Requests(caidaPath) - 1; n != 4 {
		t.Errorf("chunked: %d requests, want 4", n)
	}
	// The chunks tile the window: 13-14, 14-15, 15-16, 16-17.
	var ivs []string
	for _, r := range srv.Log(caidaPath)[1:] {
		ivs = append(ivs, r.Query.Get("intervals[]"))
	}
	if got, wantIv := strings.Join(ivs, " "), "1267275600,1267279200 1267279200,1267282800 1267282800,1267286400 1267286400,1267290000"; got != wantIv {
		t.Errorf("intervals %s, want %s", got, wantIv)
	}
}

// TestCAIDABrokerDedupe uses 5-minute chunks: the broker returns a dump in
// every chunk it touches (including the one it ends exactly at the start
// of), and the index returns each once.
func TestCAIDABrokerDedupe(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	b, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), Chunk: 5 * time.Minute, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := b.Find(testCtx(t), Query{Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := labels(ds), expect(t, rrc0315...); !sameStrings(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if n := srv.Requests(caidaPath); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

// TestCAIDABrokerQuery checks the query string: projects[], collectors[],
// types[], resourceTypes[], the user's extra parameters.
func TestCAIDABrokerQuery(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	b, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), Params: []string{"routers[]=r1", "peer_asns[]=65000"}, HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Find(testCtx(t), Query{Projects: []string{"route-views"}, Collectors: []string{"route-views2"}, Types: []string{"rib"},
		Windows: []Window{{ut(2014, 5, 23, 6, 0, 0), ut(2014, 5, 23, 6, 30, 0)}}}); err != nil {
		t.Fatal(err)
	}
	q := srv.Log(caidaPath)[0].Query
	for k, v := range map[string]string{"projects[]": "routeviews", "collectors[]": "route-views2", "types[]": "ribs",
		"resourceTypes[]": "batch", "routers[]": "r1", "peer_asns[]": "65000", "intervals[]": "1400824800,1400826600"} {
		if q.Get(k) != v {
			t.Errorf("%s=%q, want %q (query %v)", k, q.Get(k), v, q)
		}
	}
}

// TestCAIDABrokerAnswers checks the answer checks (libbgpstream's
// process_json): version, error, malformed resources; a permanent problem
// is not retried, a 500 is.
func TestCAIDABrokerAnswers(t *testing.T) {
	q := Query{Collectors: []string{"rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}}
	for _, tc := range []struct {
		name     string
		fault    archivetest.Fault
		want     string
		requests int
	}{
		{"version 3", archivetest.Fault{Body: `{"version":3,"time":1,"type":"data","error":null,"data":{"resources":[]}}`}, "unsupported API version 3", 1},
		{"broker error", archivetest.Fault{Body: `{"version":2,"time":1,"type":"data","error":"no such collector","data":null}`}, "no such collector", 1},
		{"bad type", archivetest.Fault{Body: `{"version":2,"time":1,"type":"data","error":null,"data":{"resources":[{"url":"http://x/a.gz","project":"ris","collector":"rrc00","type":"bviews","initialTime":1,"duration":300,"transport":"http","format":"mrt","attr":[]}]}}`}, `invalid type "bviews"`, 1},
		{"not JSON", archivetest.Fault{Body: `<html>maintenance</html>`, ContentType: "text/html"}, "malformed answer", 1},
		{"HTTP 400", archivetest.Fault{Status: http.StatusBadRequest}, "400", 1},
		{"HTTP 503 forever", archivetest.Fault{Status: http.StatusServiceUnavailable}, "503", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := archivetest.New(t, archivetest.Options{})
			srv.SetFault(caidaPath, tc.fault)
			h := fastHTTP()
			h.Attempts = 3
			b, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), HTTP: h})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Find(testCtx(t), q)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.CAIDABrokerURL()+"/data?") {
				t.Fatalf("error %v, want one naming the URL and %q", err, tc.want)
			}
			if n := srv.Requests(caidaPath); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
	t.Run("500 twice then success", func(t *testing.T) {
		srv := archivetest.New(t, archivetest.Options{})
		srv.SetFault(caidaPath, archivetest.Fault{Status: 500, Times: 2})
		b, _ := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), HTTP: fastHTTP()})
		ds, err := b.Find(testCtx(t), q)
		if err != nil || len(ds) != 2 || srv.Requests(caidaPath) != 3 {
			t.Fatalf("%d dumps, %v, %d requests", len(ds), err, srv.Requests(caidaPath))
		}
	})
}

// TestCAIDABrokerStreams checks that a stream resource comes back as a
// Dump with Transport kafka and its topics, and only when asked for.
func TestCAIDABrokerStreams(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	srv.PublishEntry(archivetest.Entry{Project: "routeviews-stream", Collector: "route-views2", Type: "updates",
		Start: ut(2014, 1, 1, 0, 0, 0), ArchivePath: "stream.routeviews.org:9092", Transport: "kafka", Format: "bmp",
		Attrs: map[string]string{"kafka-topics": "routeviews.route-views2.6447.bmp_raw"}})
	q := Query{Windows: []Window{{ut(2014, 5, 23, 6, 0, 0), ut(2014, 5, 23, 6, 1, 0)}}}
	for _, streams := range []bool{false, true} {
		b, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), Streams: streams, HTTP: fastHTTP()})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := b.Find(testCtx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		var kafka []Dump
		for _, d := range ds {
			if d.IsStream() {
				kafka = append(kafka, d)
			}
		}
		if !streams {
			if len(kafka) != 0 || len(ds) != 1 {
				t.Errorf("batch only: got %v", ds)
			}
			continue
		}
		if len(kafka) != 1 || kafka[0].Format != "bmp" || kafka[0].Attrs["kafka-topics"] != "routeviews.route-views2.6447.bmp_raw" ||
			kafka[0].URL != "stream.routeviews.org:9092" || kafka[0].Duration != 0 || !kafka[0].End().IsZero() {
			t.Errorf("streams: got %+v", kafka)
		}
		f, _ := NewFetcher(FetchOptions{})
		if _, err := f.Open(testCtx(t), kafka[0]); err == nil || !strings.Contains(err.Error(), "stream resource") {
			t.Errorf("Open of a stream resource: %v", err)
		}
	}
}

// TestBGPKITPaging asks with one item per page: every page is read and the
// answer is the same as with one page.
func TestBGPKITPaging(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	q := Query{Projects: []string{"ris"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}}
	want := expect(t, rrc0315...)
	const path = "/bgpkit/v3/broker/search"
	for _, size := range []int{1, 2, 1000} {
		before := srv.Requests(path)
		b, err := NewBGPKITBroker(BGPKITOptions{URL: srv.BGPKITURL(), PageSize: size, HTTP: fastHTTP()})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := b.Find(testCtx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := labels(ds); !sameStrings(got, want) {
			t.Errorf("page size %d:\n got  %q\n want %q", size, got, want)
		}
		// 3 items: ceil(3/size) pages.
		wantReq := map[int]int{1: 3, 2: 2, 1000: 1}[size]
		if n := srv.Requests(path) - before; n != wantReq {
			t.Errorf("page size %d: %d requests, want %d", size, n, wantReq)
		}
		last := srv.Log(path)[srv.Requests(path)-1].Query
		if last.Get("project") != "riperis" || last.Get("page_size") != strconv.Itoa(size) || last.Get("ts_start") != "1267282800" || last.Get("ts_end") != "1267287601" {
			t.Errorf("query %v", last)
		}
		for _, d := range ds {
			if d.Size != int64(len(srv.Data("/ris/"+strings.TrimPrefix(d.URL, srv.RISBase()+"/")))) {
				t.Errorf("%s: size %d", d.URL, d.Size)
			}
		}
	}
}

// TestBGPKITErrors checks that a SearchError answer is reported with its
// reason and the URL, without retries.
func TestBGPKITErrors(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	const path = "/bgpkit/v3/broker/search"
	srv.SetFault(path, archivetest.Fault{Status: 400, Body: `{"SearchError":"invalid collector_id"}`})
	b, _ := NewBGPKITBroker(BGPKITOptions{URL: srv.BGPKITURL(), HTTP: fastHTTP()})
	_, err := b.Find(testCtx(t), Query{Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(err.Error(), "invalid collector_id") || !strings.Contains(err.Error(), srv.BGPKITURL()) {
		t.Fatalf("error %v", err)
	}
	if srv.Requests(path) != 1 {
		t.Errorf("%d requests, want 1 (a 400 is not retried)", srv.Requests(path))
	}
}
