package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBrokerCommand starts "broker --port N" in process, checks that it
// warns it is in memory, that a Kafka client reaches it on that port, and
// that it stops when its context ends; --help says the same about memory.
func TestBrokerCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var errOut lockedBuf
	rootCmd.SetErr(&errOut)
	defer rootCmd.SetErr(nil)
	rootCmd.SetArgs([]string{"broker", "--port", strconv.Itoa(port), "--partitions", "3"})
	ctx, cancel := context.WithCancel(context.Background())
	// ExecuteContext leaves ctx on the shared root command: restore it for
	// the tests that run after this one.
	defer rootCmd.SetContext(context.Background())
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(ctx) }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "embedded Kafka broker listening") {
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start:\n%s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log := errOut.String()
	for _, want := range []string{"addr=" + addr, "level=WARN", "in memory only", "lost when the process exits"} {
		if !strings.Contains(log, want) {
			t.Errorf("startup log lacks %q:\n%s", want, log)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	err = cl.Ping(pctx)
	pcancel()
	cl.Close()
	if err != nil {
		t.Fatalf("ping %s: %v", addr, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("broker after cancel: %v", err)
	}

	var help bytes.Buffer
	rootCmd.SetOut(&help)
	defer rootCmd.SetOut(nil)
	rootCmd.SetArgs([]string{"broker", "--help"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"in memory", "lost when the process exits", "--port int", "(default 9092)"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("broker --help lacks %q:\n%s", want, help.String())
		}
	}
}

// TestRunNeedsBootstrapServers checks that run without bootstrap.servers is
// a usage error (exit status 2) naming the key, before anything starts.
func TestRunNeedsBootstrapServers(t *testing.T) {
	t.Setenv("BGP_CONNECTOR_BOOTSTRAP_SERVERS", "")
	os.Unsetenv("BGP_CONNECTOR_BOOTSTRAP_SERVERS")
	rootCmd.SetArgs([]string{"run"})
	err := rootCmd.Execute()
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("run without bootstrap.servers: %v, want a usage error", err)
	}
	if !strings.HasPrefix(err.Error(), "configuration: bootstrap.servers: not set: name the Kafka brokers") ||
		!strings.Contains(err.Error(), "bootstrap.servers=embedded") {
		t.Fatalf("message: %s", err)
	}
}
