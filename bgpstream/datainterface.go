package bgpstream

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
)

// DataInterfaceInfo describes a data interface and the options it takes
// (what bgpreader prints for "-o ?").
type DataInterfaceInfo struct {
	// Name is what DataInterface and bgpreader's -d take.
	Name string
	// Description says what it reads.
	Description string
	// Options are its DataInterfaceOption keys.
	Options []OptionInfo
}

// OptionInfo describes one data interface option.
type OptionInfo struct {
	// Name is the key of DataInterfaceOption (bgpreader's -o key=value).
	Name string
	// Description says what it sets, with its default.
	Description string
	// Repeatable says the option may be given more than once.
	Repeatable bool
}

// dataInterface yields the resources of a stream.
type dataInterface interface {
	// poll returns resources not returned before. done reports that no
	// more will ever come (a batch interface returns everything at once
	// with done true); a live interface blocks until new resources exist
	// or ctx ends.
	poll(ctx context.Context) (res []*resource, done bool, err error)
}

// diSpec is a registered data interface.
type diSpec struct {
	info DataInterfaceInfo
	// make builds the interface from its options (validated: unknown keys
	// were rejected before).
	make func(s *Stream, opts map[string][]string) (dataInterface, error)
}

var registry = map[string]*diSpec{}

// register adds a data interface (called from init functions).
func register(d *diSpec) { registry[d.info.Name] = d }

// DataInterfaces returns every data interface with its options, sorted by
// name.
func DataInterfaces() []DataInterfaceInfo {
	var out []DataInterfaceInfo
	for _, d := range registry {
		out = append(out, d.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupDataInterface returns the data interface named name.
func LookupDataInterface(name string) (DataInterfaceInfo, bool) {
	d, ok := registry[name]
	if !ok {
		return DataInterfaceInfo{}, false
	}
	return d.info, true
}

// singlefile durations: how often bgpreader's singlefile interface checks
// its files again (bsdi_singlefile.c RIB_FREQUENCY_CHECK and
// UPDATE_FREQUENCY_CHECK), used as the resources' durations.
const (
	singlefileRIBSpan = 1800
	singlefileUpdSpan = 120
)

func init() {
	register(&diSpec{
		info: DataInterfaceInfo{Name: "singlefile", Description: "Read a single RIB file and/or a single updates file (MRT, BMP or RIS Live JSON)",
			Options: []OptionInfo{
				{Name: "rib-file", Description: "RIB dump file to read (MRT or BMP, any compression)"},
				{Name: "rib-type", Description: "format of the RIB file: mrt or bmp (default mrt)"},
				{Name: "upd-file", Description: "updates file to read (MRT, BMP or RIS Live JSON lines, any compression)"},
				{Name: "upd-type", Description: "format of the updates file: mrt, bmp or ris-live (default mrt)"},
			}},
		make: newSinglefile,
	})
	register(&diSpec{
		info: DataInterfaceInfo{Name: "csvfile", Description: "Read the dumps listed in a CSV file (path,project,type,collector,filetime,timespan,timestamp)",
			Options: []OptionInfo{
				{Name: "csv-file", Description: "CSV file listing dump files, one per line, 7 columns as libbgpstream's csvfile interface"},
				{Name: "poll-interval", Description: "live mode: wait between reads of the CSV file for new rows (default 20s, libbgpstream's; not a bgpreader option)"},
			}},
		make: newCSVFile,
	})
	register(&diSpec{
		info: DataInterfaceInfo{Name: "files", Description: "Read the files given as arguments (MRT, BMP, OpenBMP; any compression), merged in time order",
			Options: []OptionInfo{
				{Name: "file", Description: "a file to read (same as an argument)", Repeatable: true},
				{Name: "type", Description: "format of the files: mrt, bmp, openbmp or auto (default auto)"},
			}},
		make: newFilesDI,
	})
}

// static is a data interface with a fixed list of resources.
type static struct{ res []*resource }

func (s *static) poll(context.Context) ([]*resource, bool, error) {
	r := s.res
	s.res = nil
	return r, true, nil
}

func last(opts map[string][]string, key string) string {
	v := opts[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func newSinglefile(s *Stream, opts map[string][]string) (dataInterface, error) {
	rib, upd := last(opts, "rib-file"), last(opts, "upd-file")
	if rib == "" && upd == "" {
		return nil, errors.New("singlefile: set rib-file and/or upd-file (-o upd-file=FILE)")
	}
	now := s.cfg.now().Unix()
	var out []*resource
	add := func(path, typ string, rt decode.RecordType, span int64) error {
		switch typ {
		case "", "mrt":
			typ = ingest.FormatMRT
		case "bmp":
			typ = ingest.FormatBMP
		case "ris-live":
			if rt == decode.RecordRIB {
				return errors.New("singlefile: rib-type ris-live: RIS Live carries updates only (use upd-type)")
			}
		default:
			return fmt.Errorf("singlefile: type %q: want mrt or bmp (or ris-live for upd-type)", typ)
		}
		out = append(out, s.fileResource(path, typ, s.labelProject(), s.labelCollector(), rt, now, span))
		return nil
	}
	if rib != "" {
		if err := add(rib, last(opts, "rib-type"), decode.RecordRIB, singlefileRIBSpan); err != nil {
			return nil, err
		}
	}
	if upd != "" {
		if err := add(upd, last(opts, "upd-type"), decode.RecordUpdate, singlefileUpdSpan); err != nil {
			return nil, err
		}
	}
	return &static{res: out}, nil
}

// csvfile: libbgpstream's lib/datainterfaces/bsdi_csvfile.c. Each row is
// path,project,type,collector,filetime,timespan,timestamp; a row is read
// when it matches the stream's projects, collectors, record types and
// windows (a dump's filetime may lie up to 15 min + 120 s before a window's
// start, as RouteViews updates files cover 15 minutes), and its timestamp
// (when it was added) is in the past. In live mode the file is read again
// and rows added since are read.
type csvFile struct {
	s        *Stream
	path     string
	every    time.Duration // live mode: wait between reads
	lastSeen int64         // largest timestamp taken so far
}

func newCSVFile(s *Stream, opts map[string][]string) (dataInterface, error) {
	c := &csvFile{s: s, path: last(opts, "csv-file"), every: s.pollInterval()}
	var errs []error
	if c.path == "" {
		errs = append(errs, errors.New("csvfile: the csv-file option must be set (-o csv-file=FILE)"))
	} else if _, err := os.Stat(c.path); err != nil {
		errs = append(errs, fmt.Errorf("csvfile: %w", err))
	}
	if v := last(opts, "poll-interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("csvfile: poll-interval %q: want a duration such as 20s", v))
		}
		c.every = d
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func (c *csvFile) poll(ctx context.Context) ([]*resource, bool, error) {
	for {
		res, maxTS, err := c.read()
		if err != nil {
			return nil, true, err
		}
		c.lastSeen = max(c.lastSeen, maxTS)
		if len(res) > 0 || !c.s.live() {
			return res, !c.s.live(), nil
		}
		select {
		case <-ctx.Done():
			return nil, true, ctx.Err()
		case <-time.After(c.every):
		}
	}
}

func (c *csvFile) read() ([]*resource, int64, error) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, 0, fmt.Errorf("csvfile: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	now := c.s.cfg.now().Unix()
	var out []*resource
	var maxTS int64
	for line := 1; ; line++ {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("csvfile: %w", err)
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != 7 {
			return nil, 0, fmt.Errorf("csvfile: %s line %d: %d fields, want 7 (path,project,type,collector,filetime,timespan,timestamp)", c.path, line, len(row))
		}
		var nums [3]int64
		for i, name := range []string{"filetime", "timespan", "timestamp"} {
			n, err := strconv.ParseInt(strings.TrimSpace(row[4+i]), 10, 64)
			if err != nil || n < 0 {
				return nil, 0, fmt.Errorf("csvfile: %s line %d: %s %q is not a number of seconds", c.path, line, name, row[4+i])
			}
			nums[i] = n
		}
		var rt decode.RecordType
		switch strings.TrimSpace(row[2]) {
		case "ribs":
			rt = decode.RecordRIB
		case "updates":
			rt = decode.RecordUpdate
		default:
			return nil, 0, fmt.Errorf("csvfile: %s line %d: type %q: want ribs or updates", c.path, line, row[2])
		}
		filetime, span, ts := nums[0], nums[1], nums[2]
		if ts <= c.lastSeen || ts > now-1 {
			continue
		}
		maxTS = max(maxTS, ts)
		project, collector := strings.TrimSpace(row[1]), strings.TrimSpace(row[3])
		if !c.s.wants(project, collector, rt, filetime) {
			continue
		}
		out = append(out, c.s.fileResource(strings.TrimSpace(row[0]), ingest.FormatMRT, project, collector, rt, filetime, span))
	}
	return out, maxTS, nil
}

// filesDI reads plain files (the Files option and "file" options).
type filesDI struct{}

func newFilesDI(s *Stream, opts map[string][]string) (dataInterface, error) {
	paths := append(append([]string(nil), s.cfg.files...), opts["file"]...)
	if len(paths) == 0 {
		return nil, ErrNoInput
	}
	format := s.cfg.format
	if t := last(opts, "type"); t != "" {
		format = t
	}
	switch format {
	case "", "auto", "mrt", "bmp", "openbmp", "ris-live":
	default:
		return nil, fmt.Errorf("files: type %q: want mrt, bmp, openbmp, ris-live or auto", format)
	}
	now := s.cfg.now().Unix()
	res := make([]*resource, len(paths))
	for i, p := range paths {
		res[i] = s.fileResource(p, format, s.labelProject(), s.labelCollector(), decode.RecordUpdate, 0, 0)
	}
	if len(res) > 1 {
		// Several files: find each one's first record (a cheap read with
		// small buffers), so that the merge opens a file only when the
		// stream reaches its time, and order them by that time (then name:
		// the output does not depend on the order of the arguments).
		for _, r := range res {
			if r.Name == "-" {
				continue // read once: opened at the start
			}
			r.probe(s)
		}
		sort.SliceStable(res, func(i, j int) bool {
			if res[i].InitialTime != res[j].InitialTime {
				return res[i].InitialTime < res[j].InitialTime
			}
			return res[i].Name < res[j].Name
		})
	}
	for _, r := range res {
		r.DumpTime = now // bgpreader dates a single file by when it queued it
	}
	return &static{res: res}, nil
}
