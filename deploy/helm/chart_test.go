// Package helm holds the Helm chart of the connector (bgp-connector/) and a
// test that renders and lints it with the Helm v3 library; it has no Go code
// of its own.
package helm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/connector"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

const chartDir = "bgp-connector"

func render(t *testing.T, values map[string]any) map[string]string {
	t.Helper()
	out, err := renderErr(values)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderErr renders the chart as helm install would (release "edge" in
// namespace "bgp", revision 3), validating values against
// values.schema.json.
func renderErr(values map[string]any) (map[string]string, error) {
	c, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals, err := chartutil.ToRenderValues(c, deepCopy(values), chartutil.ReleaseOptions{Name: "edge", Namespace: "bgp", Revision: 3, IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, vals)
}

// deepCopy copies a values tree: Helm's coalescing deletes the keys set to
// null from the map it is given, and the tests reuse their value sets.
func deepCopy(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// TestChartLint runs helm lint's checks; errors and warnings fail.
func TestChartLint(t *testing.T) {
	l := lint.All(chartDir, nil, "bgp", false)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}

// TestChartRenders checks the Deployment, ConfigMap and Service, and that
// the rendered connector.properties is a configuration the connector
// accepts.
func TestChartRenders(t *testing.T) {
	out := render(t, nil)
	kinds := map[string]map[string]any{}
	for name, doc := range out {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s is not YAML: %v\n%s", name, err, doc)
		}
		kinds[m["kind"].(string)] = m
	}
	for _, k := range []string{"Deployment", "ConfigMap", "Service"} {
		if kinds[k] == nil {
			t.Fatalf("no %s rendered", k)
		}
	}
	props := kinds["ConfigMap"]["data"].(map[string]any)["connector.properties"].(string)
	s, err := connector.ParseProperties(strings.NewReader(props), "configmap")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := connector.NewConfig(s)
	if err != nil {
		t.Fatalf("the chart's connector.properties is rejected: %v\n%s", err, props)
	}
	if cfg.Embedded || cfg.MetricsListen != ":9464" || cfg.ErrorsTolerance != "all" {
		t.Errorf("rendered config: embedded=%v metrics=%q tolerance=%q", cfg.Embedded, cfg.MetricsListen, cfg.ErrorsTolerance)
	}
	dep := kinds["Deployment"]
	spec := dep["spec"].(map[string]any)
	if spec["replicas"].(float64) != 2 {
		t.Errorf("replicas %v", spec["replicas"])
	}
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	ctr := pod["containers"].([]any)[0].(map[string]any)
	args := ctr["args"].([]any)
	if len(args) != 3 || args[0] != "run" || args[2] != "/etc/bgp-connector/connector.properties" {
		t.Errorf("container args %v", args)
	}
	if pod["terminationGracePeriodSeconds"].(float64) < 30 {
		t.Errorf("grace period %v too short to commit on SIGTERM", pod["terminationGracePeriodSeconds"])
	}
	svc := kinds["Service"]["spec"].(map[string]any)
	if p := svc["ports"].([]any)[0].(map[string]any); p["port"].(float64) != 9464 || p["targetPort"] != "metrics" {
		t.Errorf("service port %v", p)
	}
}

// TestChartSecretsAndNoMetrics renders with a secret override and metrics
// off: the env var comes from the secret, and no Service is rendered.
func TestChartSecretsAndNoMetrics(t *testing.T) {
	out := render(t, map[string]any{
		"metrics":   map[string]any{"enabled": false},
		"secretEnv": map[string]any{"BGP_CONNECTOR_SASL_PASSWORD": map[string]any{"name": "kafka", "key": "password"}},
	})
	for name, doc := range out {
		if strings.HasSuffix(name, "service.yaml") && strings.TrimSpace(doc) != "" {
			t.Errorf("service rendered with metrics disabled:\n%s", doc)
		}
		if strings.HasSuffix(name, "deployment.yaml") {
			if !strings.Contains(doc, "name: BGP_CONNECTOR_SASL_PASSWORD") || !strings.Contains(doc, "secretKeyRef") {
				t.Errorf("secret env missing:\n%s", doc)
			}
			if strings.Contains(doc, "livenessProbe") {
				t.Errorf("liveness probe on a disabled metrics port")
			}
		}
		if strings.HasSuffix(name, "configmap.yaml") && strings.Contains(doc, "metrics.listen") {
			t.Errorf("metrics.listen set with metrics disabled")
		}
	}
}
