package bgpstream

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// fakeSource yields records at the given times (seconds), two per batch,
// labelled with its name as collector.
type fakeSource struct {
	name  string
	rt    decode.RecordType
	times []int64
	at    int
}

func (f *fakeSource) Next(_ context.Context, b *decode.Batch) error {
	if f.at == len(f.times) {
		return io.EOF
	}
	b.Source = f.name
	for n := 0; n < 2 && f.at < len(f.times); n++ {
		b.AddRecord(&decode.Record{Type: f.rt, Time: f.times[f.at] * 1e6, Collector: f.name, Offset: int64(f.at)})
		f.at++
	}
	return nil
}

func (f *fakeSource) Close() error { return nil }

// fakeStream returns a stream over fake resources given as
// "name:type:initial:t1,t2,..." (type r or u).
func fakeStream(t *testing.T, specs ...string) *Stream {
	t.Helper()
	s := &Stream{cfg: config{now: time.Now}}
	var res []*resource
	for _, sp := range specs {
		p := strings.Split(sp, ":")
		var times []int64
		for _, v := range strings.Split(p[3], ",") {
			var n int64
			fmt.Sscan(v, &n)
			times = append(times, n)
		}
		var initial int64
		fmt.Sscan(p[2], &initial)
		rt := decode.RecordUpdate
		if p[1] == "r" {
			rt = decode.RecordRIB
		}
		name := p[0]
		r := &resource{Name: name, Collector: name, Type: rt, InitialTime: initial, Duration: 300}
		r.open = func(context.Context, bool) (ingest.Source, error) {
			return &fakeSource{name: name, rt: rt, times: times}, nil
		}
		res = append(res, r)
	}
	s.dis = []dataInterface{&static{res: res}}
	return s
}

// order returns "name@time" for every record of the stream.
func order(t *testing.T, s *Stream) []string {
	t.Helper()
	var out []string
	for b, err := range s.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Records {
			out = append(out, fmt.Sprintf("%s@%d", b.Records[i].Collector, b.Records[i].Time/1e6))
		}
	}
	return out
}

// TestMergeBGPReaderRules checks the rules of bgpreader's resource manager
// the merge ports (bgpstream-behaviour.md): times never decrease; at one
// second RIB records come before update records; a reader drains its
// records of a second before another gets a turn; a resource joining a
// group goes to the front of its list; resources open when the stream
// reaches their initial time.
func TestMergeBGPReaderRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []string
		want  string
	}{
		{"interleave by time", []string{"a:u:100:100,102,104", "b:u:100:101,103,105"},
			"a@100 b@101 a@102 b@103 a@104 b@105"},
		{"drain a second", []string{"a:u:100:100,100,100,101", "b:u:100:100,101"},
			// pushed a then b: b is at the front of group 100 (LIFO) and
			// drains its second; a joins group 101 at the front
			"b@100 a@100 a@100 a@100 a@101 b@101"},
		{"ribs first", []string{"u:u:100:100,100", "r:r:100:100,100"},
			"r@100 r@100 u@100 u@100"},
		{"open late", []string{"early:u:100:100,200,300", "late:u:250:250"},
			"early@100 early@200 late@250 early@300"},
		{"initial time wrong", []string{"a:u:0:150,151", "b:u:100:100,150"},
			// a claims 0 but starts at 150: the sort moves it to group
			// 150; b, moving there after its record at 100, joins the
			// group at the front (LIFO) and reads first
			"b@100 b@150 a@150 a@151"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(order(t, fakeStream(t, tc.specs...)), " ")
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestMergeCopyAndPassThrough checks that records handed out in copied runs
// keep their elems, statistics and gaps, across readers and batches.
func TestMergeCopyAndPassThrough(t *testing.T) {
	s := fakeStream(t, "a:u:100:100,102,104,106,108", "b:u:100:101,103")
	got := order(t, s)
	want := []string{"a@100", "b@101", "a@102", "b@103", "a@104", "a@106", "a@108"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestNewOptionErrors drives New with each option and checks that bad
// values are rejected up front, each with its own message.
func TestNewOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want []string
	}{
		{[]Option{Files("x"), Filter("prefix more")}, []string{"Filter:"}},
		{[]Option{Files("x"), RecordTypes("ribz")}, []string{`"ribz" is not a record type`}},
		{[]Option{Files("x"), Interval(time.Unix(10, 0), time.Unix(5, 0))}, []string{"before the start"}},
		{[]Option{Files("x"), Interval(time.Time{}, time.Unix(5, 0))}, []string{"the start is zero"}},
		{[]Option{DataInterface("nope")}, []string{`unknown data interface "nope"`}},
		{[]Option{DataInterfaceOption("singlefile", "ribfile", "x")}, []string{`singlefile has no option "ribfile"`, "rib-file"}},
		{[]Option{DataInterface("singlefile")}, []string{"set rib-file and/or upd-file"}},
		{[]Option{DataInterface("csvfile")}, []string{"csv-file option must be set"}},
		{[]Option{DataInterface("csvfile"), DataInterfaceOption("csvfile", "csv-file", "/nonexistent.csv")}, []string{"no such file"}},
		{[]Option{DataInterface("csvfile"), DataInterfaceOption("csvfile", "csv-file", "/nonexistent.csv"), DataInterfaceOption("csvfile", "poll-interval", "soon")}, []string{"no such file", `poll-interval "soon"`}},
		{[]Option{DataInterface("singlefile"), DataInterfaceOption("singlefile", "upd-file", "x"), DataInterfaceOption("singlefile", "upd-type", "json")}, []string{`type "json"`}},
		{[]Option{DataInterface("singlefile"), DataInterfaceOption("csvfile", "csv-file", "x"), DataInterfaceOption("singlefile", "upd-file", "x")}, []string{"options for csvfile, but the data interface is singlefile"}},
		{[]Option{Files("x"), RIBPeriod(-time.Second)}, []string{"RIBPeriod"}},
		{[]Option{Files("x"), InputFormat("pcap")}, []string{`InputFormat: "pcap"`}},
		{[]Option{Files("x"), RecordTypes("x"), RIBPeriod(-1)}, []string{"2 problems", "record type", "RIBPeriod"}},
	} {
		_, err := New(tc.opts...)
		if err == nil {
			t.Errorf("%v: no error", tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
	// Good options build a stream; a filter naming a project no file
	// carries is a warning saying how to label the files.
	var warned []string
	s, err := New(Files("x"), Projects("ris"), Interval(time.Unix(1, 0), time.Time{}), Warnings(func(m string) { warned = append(warned, m) }))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(warned) != 1 || !strings.Contains(warned[0], `labelled project "singlefile"`) || !strings.Contains(warned[0], "--project") {
		t.Errorf("warnings %q", warned)
	}
	if !s.live() {
		t.Error("an interval without an end does not make the stream live")
	}
}

// TestRISLiveFile reads the real RIS Live sample through singlefile with
// upd-type=ris-live, as bgpreader does: its UPDATE and its peer state
// become elems labelled with the collector the messages name, and its bad
// last line is damage, not an end.
func TestRISLiveFile(t *testing.T) {
	p := corpus.Path(t, "libbgpstream/ris-live-stream.json")
	var damage []string
	s, err := New(DataInterface("singlefile"), DataInterfaceOption("singlefile", "upd-file", p),
		DataInterfaceOption("singlefile", "upd-type", "ris-live"), OnDamage(func(d *Damage) { damage = append(damage, d.Error()) }))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for e, err := range s.Elems(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, fmt.Sprintf("%c %s %s", e.Type.Char(), e.Record.Project, e.Record.Collector))
	}
	slices.Sort(types)
	if want := []string{"A singlefile rrc00", "S singlefile rrc01"}; !slices.Equal(types, want) { // the hosts of the sample
		t.Errorf("elems %q, want %q", types, want)
	}
	if len(damage) != 1 || !strings.Contains(damage[0], "ris-live-stream.json") {
		t.Errorf("damage %q, want the bad last line named", damage)
	}
}
