package archive

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Collector is one collector of an archive and where its dumps live.
type Collector struct {
	// Project is "ris" or "routeviews": it decides the directory layout.
	Project string
	// Name is the collector's name ("rrc00", "route-views.jinx").
	Name string
	// Path is the directory holding the collector's YYYY.MM month
	// directories, relative to its project's base ("rrc00",
	// "route-views.jinx/bgpdata", "bgpdata" for route-views2 in the old
	// layout) or an absolute URL or path of its own.
	Path string
}

// risCollectors are RIS's collectors with an archive (bgpkit-broker's list,
// 2026-08: rrc00–rrc26 without rrc17; rrc02, rrc08, rrc09 are retired but
// their archives remain).
var risCollectors = []string{
	"rrc00", "rrc01", "rrc02", "rrc03", "rrc04", "rrc05", "rrc06", "rrc07", "rrc08", "rrc09",
	"rrc10", "rrc11", "rrc12", "rrc13", "rrc14", "rrc15", "rrc16", "rrc18", "rrc19", "rrc20",
	"rrc21", "rrc22", "rrc23", "rrc24", "rrc25", "rrc26",
}

// routeViewsCollectors are RouteViews's collectors with an MRT archive
// (bgpkit-broker's list, 2026-08; route-views.jinx, .siex and .saopaulo
// are deprecated, their archives remain). "route-views" (the Cisco box)
// has none.
var routeViewsCollectors = []string{
	"route-views2", "route-views3", "route-views4", "route-views5", "route-views6", "route-views7", "route-views8",
	"route-views.amsix", "route-views.chicago", "route-views.chile", "route-views.eqix", "route-views.flix",
	"route-views.gorex", "route-views.isc", "route-views.kixp", "route-views.jinx", "route-views.linx",
	"route-views.napafrica", "route-views.nwax", "route-views.phoix", "route-views.telxatl", "route-views.wide",
	"route-views.sydney", "route-views.saopaulo", "route-views2.saopaulo", "route-views.sg", "route-views.perth",
	"route-views.peru", "route-views.sfmix", "route-views.siex", "route-views.soxrs", "route-views.mwix",
	"route-views.rio", "route-views.fortaleza", "route-views.gixa", "route-views.bdix", "route-views.bknix",
	"route-views.ny", "route-views.uaeix",
	"amsix.ams", "cix.atl", "decix.fra", "decix.jhb", "iraq-ixp.bgw", "pacwave.lax", "pit.scl", "pitmx.qro",
	"locix.fra", "interlan.otp", "kinx.icn", "iix.cgk", "ixpn.los", "namex.fco", "getafix.mnl", "ix-br.gru",
	"ix-br2.gru", "hkix.hkg", "netnod.mmx", "crix.sjo",
}

// DefaultCollectors returns the built-in collector list: every RIS and
// RouteViews collector with an MRT archive, with its archive path.
// route-views2 uses the old layout's path "bgpdata" (no collector path),
// which archive.routeviews.org still serves; a mirror of the new layout
// ("route-views2/bgpdata") needs a collectors file.
func DefaultCollectors() []Collector {
	out := make([]Collector, 0, len(risCollectors)+len(routeViewsCollectors))
	for _, c := range risCollectors {
		out = append(out, Collector{Project: ProjectRIS, Name: c, Path: c})
	}
	for _, c := range routeViewsCollectors {
		out = append(out, Collector{Project: ProjectRouteViews, Name: c, Path: defaultPath(ProjectRouteViews, c)})
	}
	return out
}

// defaultPath is a collector's path in its project's standard layout.
func defaultPath(project, name string) string {
	if project == ProjectRouteViews {
		if name == "route-views2" {
			return "bgpdata"
		}
		return name + "/bgpdata"
	}
	return name
}

// ReadCollectorsFile reads a collector list that replaces the built-in one
// (bgpreader -o collectors-file=). Two formats are accepted:
//
// Lines of "project collector [path]", '#' starting a comment; path
// defaults to the project's standard layout (rrcNN; route-views.X/bgpdata;
// bgpdata for route-views2):
//
//	ris        rrc00
//	routeviews route-views2 route-views2/bgpdata
//	routeviews route-views.amsix https://mirror.example/rv/route-views.amsix/bgpdata
//
// Or bgpkit-broker's JSON collector config, where url is the collector's
// root: {"projects":[{"name":"riperis","collectors":[{"id":"rrc00",
// "url":"https://data.ris.ripe.net/rrc00"}]}]}.
//
// Errors name the file and line.
func ReadCollectorsFile(name string) ([]Collector, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("archive: collectors file: %w", err)
	}
	var cs []Collector
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		cs, err = parseCollectorsJSON(name, t)
	} else {
		cs, err = parseCollectorsText(name, b)
	}
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("archive: collectors file %s: no collectors", name)
	}
	return cs, nil
}

func parseCollectorsText(name string, b []byte) ([]Collector, error) {
	var cs []Collector
	var errs []error
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) > 3 || len(f) < 2 {
			errs = append(errs, fmt.Errorf("%s:%d: want \"project collector [path]\", got %d fields", name, ln, len(f)))
			continue
		}
		p, ok := ProjectName(f[0])
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: unknown project %q (want ris or routeviews)", name, ln, f[0]))
			continue
		}
		c := Collector{Project: p, Name: f[1], Path: defaultPath(p, f[1])}
		if len(f) == 3 {
			c.Path = strings.TrimSuffix(f[2], "/")
		}
		if prev, dup := seen[p+"/"+c.Name]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: collector %s listed again (first on line %d)", name, ln, c.Name, prev))
			continue
		}
		seen[p+"/"+c.Name] = ln
		cs = append(cs, c)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: collectors file: %w", errors.Join(errs...))
	}
	return cs, nil
}

func parseCollectorsJSON(name string, b []byte) ([]Collector, error) {
	var conf struct {
		Projects []struct {
			Name       string `json:"name"`
			Collectors []struct {
				ID  string `json:"id"`
				URL string `json:"url"`
			} `json:"collectors"`
		} `json:"projects"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&conf); err != nil {
		line := 1 + bytes.Count(b[:min(int(dec.InputOffset()), len(b))], []byte("\n"))
		return nil, fmt.Errorf("archive: collectors file %s:%d: %w", name, line, err)
	}
	var cs []Collector
	for _, p := range conf.Projects {
		proj, ok := ProjectName(p.Name)
		if !ok {
			return nil, fmt.Errorf("archive: collectors file %s: unknown project %q (want riperis or routeviews)", name, p.Name)
		}
		for _, c := range p.Collectors {
			if c.ID == "" {
				return nil, fmt.Errorf("archive: collectors file %s: project %s: a collector without id", name, p.Name)
			}
			path := c.URL
			if path == "" {
				path = defaultPath(proj, c.ID)
			}
			cs = append(cs, Collector{Project: proj, Name: c.ID, Path: strings.TrimSuffix(path, "/")})
		}
	}
	return cs, nil
}
