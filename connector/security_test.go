package connector

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

func newPKI(t testing.TB) *kafkatest.PKI {
	t.Helper()
	p, err := kafkatest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// secureRun feeds the gobgpd frames to a secured broker with the test's own
// client options, runs the connector with sets until the input is drained,
// and checks the outputs read back against a direct decode.
func secureRun(t *testing.T, addr string, own []kgo.Opt, sets ...string) {
	t.Helper()
	vals, keys := gobgpFrames(t)
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys, own...); err != nil {
		t.Fatal(err)
	}
	c, err := New(newConfig(t, append([]string{"bootstrap.servers=" + addr}, sets...)...), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0, own...)
	if err != nil {
		t.Fatal(err)
	}
	if want := kafkatest.DecodedOutputs(vals); got != want || want[schema.Announcements] == 0 {
		t.Fatalf("outputs %v, direct decode %v", got, want)
	}
}

// failFast runs the connector with sets and checks that it fails within a
// few seconds with one line containing every want, and that franz-go did not
// log a retry loop meanwhile.
func failFast(t *testing.T, sets []string, want ...string) {
	t.Helper()
	var logBuf syncBuf
	c, err := New(newConfig(t, sets...), slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Run(ctx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("Run succeeded")
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
	if took > 5*time.Second {
		t.Errorf("failed after %v, want a prompt exit", took)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if logBuf.String() != "" {
		t.Errorf("log while failing:\n%s", logBuf.String())
	}
}

// TestSASLMechanisms runs the connector end to end through a broker that
// requires each SASL mechanism, and checks that a wrong password is one
// clear error naming bootstrap.servers and the mechanism, at once.
func TestSASLMechanisms(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "bgp", "s3cret"),
				kfake.SeedTopics(2, "openbmp.bmp_raw"))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			addr := cluster.ListenAddrs()[0]
			var m sasl.Mechanism
			switch mech {
			case "PLAIN":
				m = plain.Auth{User: "bgp", Pass: "s3cret"}.AsMechanism()
			case "SCRAM-SHA-256":
				m = scram.Auth{User: "bgp", Pass: "s3cret"}.AsSha256Mechanism()
			default:
				m = scram.Auth{User: "bgp", Pass: "s3cret"}.AsSha512Mechanism()
			}
			sets := []string{"security.protocol=SASL_PLAINTEXT", "sasl.mechanism=" + mech, "sasl.username=bgp"}
			secureRun(t, addr, []kgo.Opt{kgo.SASL(m)}, append(sets, "sasl.password=s3cret")...)
			failFast(t, append(sets, "bootstrap.servers="+addr, "sasl.password=wrong"),
				"bootstrap.servers="+addr, "rejected SASL "+mech+" authentication", `user "bgp"`, "sasl.password")
		})
	}
	t.Run("no SASL configured", func(t *testing.T) {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("PLAIN", "bgp", "s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		defer cluster.Close()
		addr := cluster.ListenAddrs()[0]
		failFast(t, []string{"bootstrap.servers=" + addr}, "bootstrap.servers="+addr, "security.protocol=PLAINTEXT", "is SASL missing?")
	})
}

// TestTLS runs the connector end to end through a TLS broker whose
// certificates the test generates: trusted by ssl.ca.location, with a
// client certificate when the broker requires one, and with SASL on top;
// a CA that did not sign the broker's certificate is one clear error.
func TestTLS(t *testing.T) {
	pki := newPKI(t)
	start := func(t *testing.T, clientAuth tls.ClientAuthType, opts ...kfake.Opt) string {
		cluster, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, "openbmp.bmp_raw"),
			kfake.TLS(pki.ServerTLS(clientAuth))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cluster.Close)
		return cluster.ListenAddrs()[0]
	}
	ctls, err := pki.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	own := []kgo.Opt{kgo.DialTLSConfig(ctls)}
	t.Run("SSL", func(t *testing.T) {
		addr := start(t, tls.NoClientCert)
		secureRun(t, addr, own, "security.protocol=SSL", "ssl.ca.location="+pki.CAFile)
	})
	t.Run("mutual TLS", func(t *testing.T) {
		addr := start(t, tls.RequireAndVerifyClientCert)
		secureRun(t, addr, own, "security.protocol=SSL", "ssl.ca.location="+pki.CAFile,
			"ssl.certificate.location="+pki.CertFile, "ssl.key.location="+pki.KeyFile)
	})
	t.Run("SASL_SSL", func(t *testing.T) {
		addr := start(t, tls.NoClientCert, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "bgp", "s3cret"))
		secureRun(t, addr, append(own, kgo.SASL(scram.Auth{User: "bgp", Pass: "s3cret"}.AsSha512Mechanism())),
			"security.protocol=SASL_SSL", "ssl.ca.location="+pki.CAFile, "sasl.mechanism=SCRAM-SHA-512", "sasl.username=bgp", "sasl.password=s3cret")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		addr := start(t, tls.NoClientCert)
		other := newPKI(t) // a CA that did not sign the broker's certificate
		failFast(t, []string{"bootstrap.servers=" + addr, "security.protocol=SSL", "ssl.ca.location=" + other.CAFile},
			"TLS with Kafka at bootstrap.servers="+addr+" failed", "ssl.ca.location="+other.CAFile, "x509: certificate signed by unknown authority")
	})
	t.Run("PLAINTEXT to a TLS broker", func(t *testing.T) {
		addr := start(t, tls.NoClientCert)
		failFast(t, []string{"bootstrap.servers=" + addr}, "bootstrap.servers="+addr, "security.protocol=PLAINTEXT")
	})
}
