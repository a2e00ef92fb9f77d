package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/internal/compress"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// compressAll writes data under name in every compression read detects,
// and returns the paths.
func compressAll(t *testing.T, dir, name string, data []byte) []string {
	t.Helper()
	ext := map[string]string{"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}
	files := map[string][]byte{}
	for _, codec := range compress.Codecs {
		b, err := compress.Encode(codec, data)
		if errors.Is(err, compress.ErrNoEncoder) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		files[name+ext[codec]] = b
	}
	var paths []string
	for n, b := range files {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestReadCompressedBMP reads BMP and OpenBMP files in every compression:
// the same records as the plain file (issue: read f.bmp.gz said
// "implausible MRT header"). The names carry no BMP hint for some, so the
// content is detected after decompression.
func TestReadCompressedBMP(t *testing.T) {
	dir := t.TempDir()
	inputs := map[string][]byte{"gobgp.obmp": demodata.GoBGP}
	if corpus.Dir() != "" {
		inputs["cisco.bmp"] = corpus.Read(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp")
		inputs["cisco-noext"] = inputs["cisco.bmp"]
	}
	for name, data := range inputs {
		plain := filepath.Join(dir, name)
		if err := os.WriteFile(plain, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, _, _, err := runReadInputs(t, text.Options{}, plain)
		if err != nil || strings.Count(want, "\n") < 10 {
			t.Fatalf("%s plain: %v, %d lines", name, err, strings.Count(want, "\n"))
		}
		for _, p := range compressAll(t, dir, name, data) {
			got, errOut, _, err := runReadInputs(t, text.Options{}, p)
			if err != nil || got != want {
				t.Errorf("%s: %v, %d lines (plain %d): %s", filepath.Base(p), err, strings.Count(got, "\n"), strings.Count(want, "\n"), errOut)
			}
		}
	}
}

// TestReadNothingDecodes: a file where nothing decodes as the type asked
// (a raw BMP stream read as OpenBMP) is one error line and a failure, not
// one warning and exit 0.
func TestReadNothingDecodes(t *testing.T) {
	p := corpus.Path(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp")
	var out, errOut bytes.Buffer
	cfg := readConfig{Type: "openbmp"}
	_, err := readInputs(context.Background(), &cfg, []string{p}, nil, &out, &errOut)
	if err == nil {
		t.Fatal("read --type openbmp of a raw BMP stream succeeded")
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, filepath.Base(p)) || !strings.Contains(last, "no openbmp record found") {
		t.Errorf("the failure does not say what happened in one line: %q", errOut.String())
	}
}

// TestReadDirectory: read DIR names the directory.
func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	cfg := readConfig{Type: "auto"}
	_, err := readInputs(context.Background(), &cfg, []string{dir}, nil, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), dir+" is a directory") {
		t.Errorf("read DIR: %v, %q", err, errOut.String())
	}
}

// TestReadVerboseUncompressed: -v on plain stdin says the input was
// uncompressed rather than counting "compressed" bytes.
func TestReadVerboseUncompressed(t *testing.T) {
	var out, errOut bytes.Buffer
	cfg := readConfig{Type: "auto"}
	sum, err := readInputs(context.Background(), &cfg, []string{"-"}, bytes.NewReader(demodata.GoBGP), &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	var v bytes.Buffer
	sum.print(&v, time.Second)
	if !strings.Contains(v.String(), "(uncompressed)") || sum.Bytes != int64(len(demodata.GoBGP)) {
		t.Errorf("summary %q, %d bytes (want %d, uncompressed)", v.String(), sum.Bytes, len(demodata.GoBGP))
	}
}

// TestReadKcatDump reads what `kcat -C -f '%R%s'` dumps from an OpenBMP
// topic (each value after its 4-byte big-endian length): detected, and the
// same elems as the file the values came from.
func TestReadKcatDump(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	vals, keys, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), demodata.GoBGPFile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "openbmp.bmp_raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkatest.Produce(ctx, cl.ListenAddrs(), "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	dump, err := exec.CommandContext(ctx, kcat, "-b", cl.ListenAddrs()[0], "-C", "-t", "openbmp.bmp_raw", "-e", "-q", "-f", "%R%s").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "topic.dump")
	if err := os.WriteFile(p, dump, 0o644); err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join(dir, "gobgp.obmp")
	os.WriteFile(orig, demodata.GoBGP, 0o644)
	want, _, _, err := runReadInputs(t, text.Options{}, orig)
	if err != nil {
		t.Fatal(err)
	}
	got, errOut, _, err := runReadInputs(t, text.Options{}, p)
	if err != nil || got != want {
		t.Errorf("kcat dump: %v, %d lines (file %d): %s", err, strings.Count(got, "\n"), strings.Count(want, "\n"), errOut)
	}
}
