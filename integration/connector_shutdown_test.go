package integration

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// TestSIGTERMUnreachableBroker stops a connector with SIGTERM after its
// broker became unreachable: the stop keeps its bound
// (task.shutdown.graceful.timeout.ms, here 3 s; it took 91 s with a
// documented 30 s before), and the exit status is non-zero because the
// final commit failed.
func TestSIGTERMUnreachableBroker(t *testing.T) {
	cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "openbmp.bmp_raw"))
	if err != nil {
		t.Fatal(err)
	}
	addr := cl.ListenAddrs()[0]
	vals, keys, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), demodata.GoBGPFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	p := startConnector(t, "bootstrap.servers="+addr, "task.shutdown.graceful.timeout.ms=3000", "offset.flush.interval.ms=60000")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.out.String(), "connector running") || !strings.Contains(p.out.String(), "partitions assigned") {
		if time.Now().After(deadline) {
			t.Fatalf("connector not running after 30 s:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // it has consumed the input; nothing committed yet
	cl.Close()                         // the broker is gone
	start := time.Now()
	err = p.stop(t, syscall.SIGTERM)
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit status %v after a failed final commit, want non-zero\n%s", err, p.out.String())
	}
	if took > 10*time.Second {
		t.Errorf("the stop took %v with a 3 s bound", took)
	}
	if !strings.Contains(p.out.String(), "final commit") {
		t.Errorf("the failed final commit is not logged:\n%s", p.out.String())
	}
}
