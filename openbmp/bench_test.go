package openbmp

import (
	"bytes"
	"crypto/md5"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rmCorpus returns the Route Monitoring messages of the real pmacct
// streams that carry IPv4/IPv6 unicast routes, each wrapped in an OpenBMP
// header naming its stream's router, and a Decoder primed with the streams'
// Initiation and Peer Up messages.
func rmCorpus(b *testing.B) (*Decoder, [][]byte) {
	needReal(b)
	paths, _ := filepath.Glob(filepath.Join(realDir, "pmacct", "streams", "*.bmp"))
	d := NewDecoder()
	var rms [][]byte
	var res Result
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		h := Header{ObjectType: ObjectBMPRaw, AdminID: "bench", RouterHash: md5.Sum([]byte(p)),
			RouterIP: netipFromHash(p), RouterGroup: filepath.Base(p), CollectedAt: 1700000000e6}
		sr := NewStreamReader(bytes.NewReader(data), KindBMP)
		for {
			f, err := sr.Next()
			if err != nil {
				if err != io.EOF && len(rms) == 0 {
					b.Logf("%s: %v", p, err)
				}
				break
			}
			frame := h.AppendTo(nil, f)
			if err := d.Decode(frame, &res); err != nil {
				continue
			}
			if res.MsgType == MsgRouteMonitoring && len(res.Elems) > 0 {
				rms = append(rms, frame)
			}
		}
	}
	if len(rms) == 0 {
		b.Skip("no Route Monitoring messages")
	}
	return d, rms
}

func netipFromHash(s string) netip.Addr {
	h := md5.Sum([]byte(s))
	return netip.AddrFrom4([4]byte(h[:4]))
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouteMonitoring decodes Route Monitoring messages from the real
// pmacct streams (OpenBMP-wrapped, sessions known from Peer Up) into elems.
// One op is one message; elems/s counts decoded A and W elems.
func BenchmarkRouteMonitoring(b *testing.B) {
	d, rms := rmCorpus(b)
	var res Result
	elems := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := d.Decode(rms[i%len(rms)], &res); err != nil {
			b.Fatal(err)
		}
		elems += len(res.Elems)
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(elems)/b.Elapsed().Seconds(), "elems/s")
	// On a shared machine wall-clock speed depends on the load; process CPU
	// time (user+system, GC included) gives the one-core speed.
	if cpu > 0 {
		b.ReportMetric(float64(elems)/cpu.Seconds(), "elems/cpu-s")
	}
	b.ReportMetric(float64(elems)/float64(b.N), "elems/op")
}
