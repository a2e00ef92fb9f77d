package kafkatest

import (
	"strings"
	"testing"
)

func TestParseHWM(t *testing.T) {
	if n := parseHWM(strings.NewReader("VmPeak:\t  100 kB\nVmHWM:\t  2048 kB\n")); n != 2048<<10 {
		t.Fatalf("parseHWM = %d", n)
	}
	if n := parseHWM(strings.NewReader("nothing")); n != 0 {
		t.Fatalf("parseHWM = %d", n)
	}
}
