package helm

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	corev1 "k8s.io/api/core/v1"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// materialize writes the files of the container's volume mounts under root
// from the test's Secrets and ConfigMaps, as the kubelet would; mounts
// elsewhere (the ConfigMap with connector.properties, read directly) are
// left alone.
func materialize(t *testing.T, pod corev1.PodSpec, ctr corev1.Container, root string, secrets map[string]map[string]string) {
	t.Helper()
	for _, vm := range ctr.VolumeMounts {
		if !strings.HasPrefix(vm.MountPath, root) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != vm.Name {
				continue
			}
			if v.Secret == nil {
				t.Fatalf("volume %s under %s is not a Secret", v.Name, root)
			}
			data, ok := secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("volume %s: no Secret %q", v.Name, v.Secret.SecretName)
			}
			if err := os.MkdirAll(vm.MountPath, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, it := range v.Secret.Items {
				val, ok := data[it.Key]
				if !ok {
					t.Fatalf("volume %s: no key %q in Secret %q", v.Name, it.Key, v.Secret.SecretName)
				}
				if err := os.WriteFile(filepath.Join(vm.MountPath, it.Path), []byte(val), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// freePort returns a port free on every interface, below Linux's
// ephemeral range (32768-60999): the chart renders the port into
// metrics.listen=:PORT, and a port from the ephemeral range can be taken by
// an outgoing connection of a test running beside this one before the
// connector binds it.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestChartRunsTheConnector renders the chart, reads its connector.properties
// and its pod's environment (Secrets resolved) with the connector's own
// loader, overriding only bootstrap.servers with the test broker's address,
// and runs the connector with exactly that configuration on the real
// gobgpd OpenBMP recording: with the default values on a PLAINTEXT broker,
// and with SASL_SSL (SCRAM-SHA-512, the CA and a client certificate mounted
// from Secrets) on a broker that requires all three. The rendered probes
// answer on the rendered port, the lag series is scraped, and every elem
// arrives.
func TestChartRunsTheConnector(t *testing.T) {
	values, keys, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), demodata.GoBGPFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, secure := range []bool{false, true} {
		name := "defaults"
		if secure {
			name = "SASL_SSL"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			vals := map[string]any{"metrics": map[string]any{"port": port}}
			var own []kgo.Opt
			secrets := map[string]map[string]string{}
			var addr string
			if secure {
				pki, err := kafkatest.NewPKI(dir)
				if err != nil {
					t.Fatal(err)
				}
				vals = secureValues(filepath.Join(dir, "tls"))
				delete(vals["config"].(map[string]any), "filter")
				vals["metrics"].(map[string]any)["port"] = port
				cert, _ := os.ReadFile(pki.CertFile)
				key, _ := os.ReadFile(pki.KeyFile)
				secrets = map[string]map[string]string{
					"kafka-credentials": {"user": "bgp-edge", "password": "s3cret"},
					"kafka-ca":          {"ca.crt": string(pki.CAPEM)},
					"kafka-client":      {"tls.crt": string(cert), "tls.key": string(key)},
				}
				cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "openbmp.bmp_raw"),
					kfake.TLS(pki.ServerTLS(tls.RequireAndVerifyClientCert)), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "bgp-edge", "s3cret"))
				if err != nil {
					t.Fatal(err)
				}
				defer cluster.Close()
				addr = cluster.ListenAddrs()[0]
				ctls, err := pki.ClientTLS()
				if err != nil {
					t.Fatal(err)
				}
				own = []kgo.Opt{kgo.DialTLSConfig(ctls), kgo.SASL(scram.Auth{User: "bgp-edge", Pass: "s3cret"}.AsSha512Mechanism())}
			} else {
				cluster, a, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
				if err != nil {
					t.Fatal(err)
				}
				defer cluster.Close()
				addr = a
			}

			m := decodeManifests(t, render(t, vals))
			dep := m.deployment(t, "connector")
			pod := dep.Spec.Template.Spec
			ctr := pod.Containers[0]
			materialize(t, pod, ctr, dir, secrets)
			cfg := renderedConfig(t, m, ctr, secrets, connector.Setting{Key: "bootstrap.servers", Value: addr, Origin: "test"})
			if secure && (cfg.SecurityProtocol != "SASL_SSL" || cfg.SASLUsername != "bgp-edge" || cfg.SSLCertLocation == "") {
				t.Fatalf("rendered security: %s user %q cert %q", cfg.SecurityProtocol, cfg.SASLUsername, cfg.SSLCertLocation)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", values, keys, own...); err != nil {
				t.Fatal(err)
			}
			c, err := connector.New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- c.Run(ctx) }()
			deadline := time.Now().Add(60 * time.Second)
			for !c.Drained(uint64(len(values))) {
				select {
				case err := <-errc:
					t.Fatalf("connector stopped: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("not drained: %d of %d records", c.Stats.Records.Load(), len(values))
				}
				time.Sleep(10 * time.Millisecond)
			}

			// The probes the chart renders, on the port it renders.
			base := "http://127.0.0.1:" + strconv.Itoa(int(ctr.Ports[0].ContainerPort))
			for _, p := range []*corev1.Probe{ctr.ReadinessProbe, ctr.LivenessProbe} {
				var code int
				var body string
				for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(50 * time.Millisecond) {
					if code, body = httpGet(base + p.HTTPGet.Path); code == http.StatusOK {
						break
					}
				}
				if code != http.StatusOK {
					t.Errorf("GET %s: %d %s", p.HTTPGet.Path, code, body)
				}
			}
			code, body := httpGet(base + "/metrics")
			if code != http.StatusOK || !strings.Contains(body, "bgp_connector_consumer_lag{partition=") ||
				!strings.Contains(body, "bgp_connector_input_records_total "+strconv.Itoa(len(values))+"\n") {
				t.Errorf("/metrics: HTTP %d, no lag series or input count:\n%s", code, body)
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatalf("Run: %v", err)
			}
			got, _, err := kafkatest.ReadOutputs(context.Background(), []string{addr}, c.Topics(), 0, own...)
			if err != nil {
				t.Fatal(err)
			}
			if want := kafkatest.DecodedOutputs(values); got != want || want[schema.Announcements] == 0 {
				t.Fatalf("outputs %v, direct decode %v", got, want)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
