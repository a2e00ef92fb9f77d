package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/bgpstream"
	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// mergeSet is a set of real update files that bgpreader reads into one
// time-ordered stream, with their CSV labels.
type mergeSet struct {
	name  string
	files []csvRow
}

type csvRow struct {
	rel, project, typ, collector string
	filetime, span               int64
}

var mergeSets = []mergeSet{
	{"2015", []csvRow{
		{"libbgpstream/ris.rrc06.updates.1427846400.gz", "ris", "updates", "rrc06", 1427846400, 300},
		{"libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2", "routeviews", "updates", "route-views.jinx", 1427846400, 900},
	}},
	{"2010", []csvRow{
		{"bgpkit/rrc03_2010.02_updates.20100227.1600.first-796-records.gz", "ris", "updates", "rrc03", 1267286400, 300},
		{"bgpkit/rrc15_2010.02_updates.20100227.1600.gz", "ris", "updates", "rrc15", 1267286400, 300},
		{"bgpkit/rrc15_2010.02_updates.20100227.1610.gz", "ris", "updates", "rrc15", 1267287000, 300},
	}},
}

func writeCSV(t *testing.T, dir string, rows []csvRow) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%d,%d,%d\n", corpus.Path(t, r.rel), r.project, r.typ, r.collector, r.filetime, r.span, r.filetime+1)
	}
	p := filepath.Join(dir, fmt.Sprintf("dumps-%d.csv", len(rows)))
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readStream runs readInputs with stream options and returns the lines.
func readStream(t *testing.T, o text.Options, names []string, opts ...bgpstream.Option) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg := readConfig{Options: o, Type: "auto", Stream: opts}
	if _, err := readInputs(context.Background(), &cfg, names, nil, &out, &errOut); err != nil {
		t.Fatalf("read: %v (%s)", err, errOut.String())
	}
	if errOut.Len() > 0 {
		t.Errorf("stderr: %s", errOut.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// checkMerged asserts what bgpreader's merge guarantees: the merged lines
// are the per-file lines combined (as a multiset), their times never
// decrease, and each file's lines keep the file's own order.
func checkMerged(t *testing.T, merged []string, perFile [][]string) {
	t.Helper()
	var all []string
	owner := map[string]int{} // line → file index, -1 when in several files
	for i, lines := range perFile {
		all = append(all, lines...)
		for _, l := range lines {
			if j, ok := owner[l]; ok && j != i {
				owner[l] = -1
			} else {
				owner[l] = i
			}
		}
	}
	a, b := slices.Clone(merged), slices.Clone(all)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatalf("merged output (%d lines) is not the per-file outputs combined (%d lines)", len(merged), len(all))
	}
	var prev float64
	for i, l := range merged {
		ts, err := strconv.ParseFloat(strings.Split(l, "|")[2], 64)
		if err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if ts < prev {
			t.Fatalf("line %d: time %f before the previous line's %f:\n%s", i, ts, prev, l)
		}
		prev = ts
	}
	for i, lines := range perFile {
		var own, got []string
		for _, l := range lines {
			if owner[l] == i {
				own = append(own, l)
			}
		}
		for _, l := range merged {
			if owner[l] == i {
				got = append(got, l)
			}
		}
		if !slices.Equal(own, got) {
			t.Errorf("file %d: its %d lines lost their order in the merge", i, len(own))
		}
	}
}

// TestReadMergeRealFiles reads the real 2010 and 2015 update files of the
// corpus through -d csvfile and as FILE arguments in shuffled orders: one
// stream whose times never decrease, made of exactly the per-file lines,
// each file's order kept.
func TestReadMergeRealFiles(t *testing.T) {
	corpus.Need(t)
	dir := t.TempDir()
	for _, set := range mergeSets {
		t.Run(set.name, func(t *testing.T) {
			var perFile [][]string
			for _, r := range set.files {
				perFile = append(perFile, readStream(t, text.Options{}, nil, bgpstream.DataInterface("csvfile"),
					bgpstream.DataInterfaceOption("csvfile", "csv-file", writeCSV(t, t.TempDir(), []csvRow{r}))))
			}
			merged := readStream(t, text.Options{}, nil, bgpstream.DataInterface("csvfile"),
				bgpstream.DataInterfaceOption("csvfile", "csv-file", writeCSV(t, dir, set.files)))
			checkMerged(t, merged, perFile)

			// FILE arguments (labelled singlefile), in every order.
			var perArg [][]string
			var names []string
			for _, r := range set.files {
				p := corpus.Path(t, r.rel)
				names = append(names, p)
				perArg = append(perArg, readStream(t, text.Options{}, []string{p}))
			}
			rng := rand.New(rand.NewSource(1))
			var first []string
			for i := 0; i < 4; i++ {
				shuffled := slices.Clone(names)
				rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
				got := readStream(t, text.Options{}, shuffled)
				checkMerged(t, got, perArg)
				if first == nil {
					first = got
				} else if !slices.Equal(first, got) {
					t.Errorf("order %v gives another stream than %v", shuffled, names)
				}
			}
		})
	}
}

// TestReadSinglefileEqualsFile checks that -d singlefile -o upd-file=F (and
// rib-file=F) prints what read F prints.
func TestReadSinglefileEqualsFile(t *testing.T) {
	for _, tc := range []struct{ rel, opt string }{
		{"ripe-bgpdump/updates.20160811.1600.gz", "upd-file"},
		{"mrtparse/quagga_rib", "rib-file"},
		{"pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp", "upd-file"},
	} {
		p := corpus.Path(t, tc.rel)
		clock := bgpstream.Clock(func() time.Time { return time.Unix(1659827072, 0) }) // dates the R|B, R|E lines
		want := readStream(t, text.Options{}, []string{p}, clock)
		opts := []bgpstream.Option{clock, bgpstream.DataInterface("singlefile"), bgpstream.DataInterfaceOption("singlefile", tc.opt, p)}
		if strings.HasSuffix(p, ".bmp") {
			opts = append(opts, bgpstream.DataInterfaceOption("singlefile", "upd-type", "bmp"))
		}
		got := readStream(t, text.Options{}, nil, opts...)
		if len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("%s: singlefile %s gives %d lines, read FILE %d", tc.rel, tc.opt, len(got), len(want))
		}
	}
}

// TestReadMEqualsBGPDump runs `read -m` through the command line on real
// files and compares with what the installed bgpdump -m prints.
func TestReadMEqualsBGPDump(t *testing.T) {
	bgpdump, err := exec.LookPath("bgpdump")
	if err != nil {
		t.Skip("bgpdump not installed (apt-get install bgpdump)")
	}
	for _, rel := range []string{"ripe-bgpdump/updates.20160811.1600.gz", "libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2", "mrtparse/quagga_rib"} {
		p := corpus.Path(t, rel)
		want, err := exec.Command(bgpdump, "-m", p).Output()
		if err != nil {
			t.Fatalf("bgpdump -m %s: %v", rel, err)
		}
		var out, errOut bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&errOut)
		rootCmd.SetArgs([]string{"read", "-m", p})
		err = rootCmd.Execute()
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		resetReadFlags(t)
		if err != nil {
			t.Fatalf("read -m %s: %v (%s)", rel, err, errOut.String())
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: read -m differs from bgpdump -m (%d vs %d bytes)", rel, out.Len(), len(want))
		}
	}
}

func TestProgressLine(t *testing.T) {
	st := bgpstream.Stats{Queued: 10, Done: 4, CompressedBytes: 2_500_000, Elems: 120000}
	if got, want := progressLine(st, 2*time.Second), "4/10 inputs, 2.5 MB, 120000 elems, 60000 elems/s, ETA 3s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	st = bgpstream.Stats{Queued: 1, Done: 0, Elems: 10}
	if got := progressLine(st, time.Second); strings.Contains(got, "ETA") {
		t.Errorf("one input has no ETA: %q", got)
	}
}
