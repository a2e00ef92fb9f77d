package compress

import "testing"

func TestDetect(t *testing.T) {
	for in, want := range map[string]string{
		"\x1f\x8b\x08":             "gzip",
		"BZh9\x31\x41":             "bzip2",
		"BZh0":                     "none",
		"\xfd7zXZ\x00":             "xz",
		"\x28\xb5\x2f\xfd\x00":     "zstd",
		"\x38\x7a\x7a\x18\x00\x0c": "none",
		"":                         "none",
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
