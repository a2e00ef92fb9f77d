package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bgp-connector/bgp-connector/connector"
)

// chartOwned are the connector keys the chart sets itself (from kafka and
// metrics), or refuses (embedded.*): values.schema.json keeps them out of
// .Values.config.
var chartOwned = map[string]bool{
	"security.protocol": true, "sasl.mechanism": true, "sasl.username": true, "sasl.password": true,
	"ssl.ca.location": true, "ssl.certificate.location": true, "ssl.key.location": true,
	"metrics.listen": true, "embedded.port": true, "embedded.partitions": true,
	"collect.listen": true, // the collect Deployment's --listen, from collect.port
}

// secureValues is a full production value set: SASL_SSL with SCRAM-SHA-512
// credentials and a CA from Secrets, a client certificate, ServiceMonitor,
// KEDA scaling, the collector and a backfill Job.
func secureValues(mountPath string) map[string]any {
	return map[string]any{
		"config": map[string]any{
			"bootstrap.servers":        "kafka-0.kafka:9093,kafka-1.kafka:9093",
			"group.id":                 "bgp-edge",
			"filter":                   `prefix more 10.0.0.0/8 and path "^3356 \d+$" and community 65000:*`,
			"tasks.max":                2,
			"offset.flush.interval.ms": 3600000,
		},
		"kafka": map[string]any{
			"securityProtocol": "SASL_SSL",
			"sasl": map[string]any{"mechanism": "SCRAM-SHA-512", "existingSecret": "kafka-credentials",
				"usernameKey": "user", "passwordKey": "password"},
			"tls": map[string]any{"caSecret": "kafka-ca", "caKey": "ca.crt", "clientCertSecret": "kafka-client", "mountPath": mountPath},
		},
		"metrics":     map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}}},
		"autoscaling": map[string]any{"enabled": true, "kind": "keda", "minReplicas": 1, "maxReplicas": 4, "lagThreshold": 5000},
		"collect":     map[string]any{"enabled": true, "args": []any{"--topic", "openbmp.bmp_raw"}, "service": map[string]any{"loadBalancerSourceRanges": []any{"192.0.2.0/24"}}},
		"backfill":    map[string]any{"enabled": true, "args": []any{"--from", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z"}},
		"extraEnv":    []any{map[string]any{"name": "TZ", "value": "UTC"}},
	}
}

// valueSets are the renderings every structural test checks.
var valueSets = map[string]map[string]any{
	"defaults":         nil,
	"secure":           secureValues("/etc/bgp-connector/tls"),
	"sasl-hpa":         {"kafka": map[string]any{"securityProtocol": "SASL_PLAINTEXT", "sasl": map[string]any{"mechanism": "PLAIN", "username": "bgp", "existingSecret": "kafka-credentials"}}, "autoscaling": map[string]any{"enabled": true, "kind": "hpa"}},
	"ssl-configmap-ca": {"kafka": map[string]any{"securityProtocol": "SSL", "tls": map[string]any{"caConfigMap": "trust-bundle", "caKey": "bundle.pem"}}, "autoscaling": map[string]any{"enabled": true}, "collect": map[string]any{"enabled": true, "service": map[string]any{"type": "ClusterIP"}}},
	"no-metrics":       {"metrics": map[string]any{"enabled": false}, "podDisruptionBudget": map[string]any{"enabled": false}, "config": map[string]any{"topics": nil, "topics.regex": `routeviews\..*\.bmp_raw`}},
}

// renderedConfig returns the connector's own reading of a rendering: the
// ConfigMap's connector.properties with the container's environment (each
// secretKeyRef resolved by secret, or a placeholder).
func renderedConfig(t *testing.T, m *manifests, ctr corev1.Container, secrets map[string]map[string]string, extra ...connector.Setting) *connector.Config {
	t.Helper()
	if len(m.ConfigMaps) != 1 {
		t.Fatalf("%d ConfigMaps", len(m.ConfigMaps))
	}
	props := m.ConfigMaps[0].Data["connector.properties"]
	file, err := connector.ParseProperties(strings.NewReader(props), "configmap/connector.properties")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := connector.NewConfig(file, connector.EnvSettings(containerEnv(t, ctr, secrets)), extra)
	if err != nil {
		t.Fatalf("the connector rejects the rendered configuration: %v\n%s", err, props)
	}
	return cfg
}

// containerEnv returns the container's environment in os.Environ form, as
// the kubelet sets it: values, and secretKeyRefs resolved from secrets
// (nil: a placeholder "<secret/key>").
func containerEnv(t *testing.T, ctr corev1.Container, secrets map[string]map[string]string) []string {
	t.Helper()
	var env []string
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v := "<" + ref.Name + "/" + ref.Key + ">"
			if secrets != nil {
				var ok bool
				if v, ok = secrets[ref.Name][ref.Key]; !ok {
					t.Fatalf("env %s: no key %q in Secret %q", e.Name, ref.Key, ref.Name)
				}
			}
			env = append(env, e.Name+"="+v)
		default:
			t.Fatalf("env %s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}

// mountedFile returns the volume and the key a file path of the container
// comes from, or fails.
func mountedFile(t *testing.T, pod corev1.PodSpec, ctr corev1.Container, path string) (corev1.Volume, string) {
	t.Helper()
	for _, vm := range ctr.VolumeMounts {
		rel, ok := strings.CutPrefix(path, vm.MountPath+"/")
		if vm.SubPath != "" {
			rel, ok = vm.SubPath, path == vm.MountPath
		}
		if !ok {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != vm.Name {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
			}
			if len(items) == 0 {
				return v, rel
			}
			for _, it := range items {
				if it.Path == rel {
					return v, it.Key
				}
			}
		}
	}
	t.Fatalf("%s is not a file of any volume mounted in container %s", path, ctr.Name)
	return corev1.Volume{}, ""
}

// TestChartLint runs helm lint's checks with every value set; errors and
// warnings fail.
func TestChartLintValueSets(t *testing.T) {
	for name, vals := range valueSets {
		l := lint.All(chartDir, deepCopy(vals), "bgp", false)
		for _, m := range l.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: helm lint: %s", name, m)
			}
		}
	}
}

// TestChartValueSets renders every value set, decodes each manifest
// strictly into its Kubernetes API type, and checks what ties the objects
// together: the connector reads the rendered configuration with the
// environment the pod gets; every file the configuration names is mounted
// from the right Secret or ConfigMap key; probes hit the metrics port the
// configuration listens on; Services, the PDB and the ServiceMonitor select
// the connector pods and no others; the collector and the backfill Job run
// their subcommands on the same configuration.
func TestChartValueSets(t *testing.T) {
	for name, vals := range valueSets {
		t.Run(name, func(t *testing.T) {
			m := decodeManifests(t, render(t, vals))
			dep := m.deployment(t, "connector")
			pod := dep.Spec.Template.Spec
			ctr := pod.Containers[0]
			cfg := renderedConfig(t, m, ctr, nil)
			if _, err := connector.New(cfg, nil); err != nil { // the filter, the input format
				t.Errorf("connector.New: %v", err)
			}
			if cfg.Embedded || len(cfg.BootstrapServers) == 0 {
				t.Errorf("bootstrap.servers %v embedded %v", cfg.BootstrapServers, cfg.Embedded)
			}
			if got, want := ctr.Args, []string{"run", "--config", "/etc/bgp-connector/connector.properties"}; !reflect.DeepEqual(got, want) {
				t.Errorf("connector args %v", got)
			}
			v, key := mountedFile(t, pod, ctr, "/etc/bgp-connector/connector.properties")
			if v.ConfigMap == nil || v.ConfigMap.Name != m.ConfigMaps[0].Name || key != "connector.properties" {
				t.Errorf("connector.properties comes from %+v key %s", v, key)
			}
			if *pod.SecurityContext.RunAsUser != 65532 || !*pod.SecurityContext.RunAsNonRoot || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("pod security %+v, automount %v", pod.SecurityContext, pod.AutomountServiceAccountToken)
			}

			// Security: every file is mounted from its source; the
			// password only ever comes from the Secret.
			kafka, _ := vals["kafka"].(map[string]any)
			tlsv, _ := kafka["tls"].(map[string]any)
			if !strings.HasPrefix(cfg.SecurityProtocol, "SASL_") && kafka["securityProtocol"] != nil && kafka["securityProtocol"] != cfg.SecurityProtocol {
				t.Errorf("security.protocol %s, values %v", cfg.SecurityProtocol, kafka["securityProtocol"])
			}
			if strings.HasPrefix(cfg.SecurityProtocol, "SASL_") {
				if cfg.SASLPassword != "<kafka-credentials/password>" {
					t.Errorf("sasl.password %q: not from the Secret", cfg.SASLPassword)
				}
				if strings.Contains(m.ConfigMaps[0].Data["connector.properties"], "sasl.password") {
					t.Error("the ConfigMap holds sasl.password")
				}
			}
			for file, want := range map[string]string{cfg.SSLCALocation: "ca", cfg.SSLCertLocation: "tls.crt", cfg.SSLKeyLocation: "tls.key"} {
				if file == "" {
					continue
				}
				v, key := mountedFile(t, pod, ctr, file)
				switch want {
				case "ca":
					src := ""
					if v.Secret != nil {
						src = v.Secret.SecretName
					} else if v.ConfigMap != nil {
						src = v.ConfigMap.Name
					}
					if src != firstNonEmpty(tlsv["caSecret"], tlsv["caConfigMap"]) || key != firstNonEmpty(tlsv["caKey"], "ca.crt") {
						t.Errorf("ssl.ca.location %s comes from %s key %s", file, src, key)
					}
				default:
					if v.Secret == nil || v.Secret.SecretName != tlsv["clientCertSecret"] || key != want {
						t.Errorf("%s comes from %+v key %s", file, v, key)
					}
				}
			}

			// Probes and the metrics endpoint.
			metricsOn := cfg.MetricsListen != ""
			if metricsOn {
				_, port, _ := strings.Cut(cfg.MetricsListen, ":")
				if len(ctr.Ports) != 1 || strconv.Itoa(int(ctr.Ports[0].ContainerPort)) != port || ctr.Ports[0].Name != "metrics" {
					t.Errorf("container ports %+v, metrics.listen %s", ctr.Ports, cfg.MetricsListen)
				}
				for probe, path := range map[*corev1.Probe]string{ctr.LivenessProbe: "/healthz", ctr.ReadinessProbe: "/readyz"} {
					if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "metrics" {
						t.Errorf("probe %+v, want GET %s on port metrics", probe, path)
					}
				}
			} else if ctr.LivenessProbe != nil || ctr.ReadinessProbe != nil || m.Kinds["Service"] > countComponent(m, "collect") {
				t.Error("probes or a metrics Service with metrics disabled")
			}

			// Selection: connector selectors match the connector pods only.
			connectorPods := labels.Set(dep.Spec.Template.Labels)
			others := []labels.Set{}
			for _, d := range m.Deployments {
				if d != dep {
					others = append(others, d.Spec.Template.Labels)
				}
			}
			for _, j := range m.Jobs {
				others = append(others, j.Spec.Template.Labels)
			}
			checkSel := func(what string, sel map[string]string, pods labels.Set) {
				t.Helper()
				s := labels.SelectorFromSet(sel)
				if len(sel) == 0 || !s.Matches(pods) {
					t.Errorf("%s selector %v does not match its pods %v", what, sel, pods)
				}
				for _, o := range others {
					if !reflect.DeepEqual(o, pods) && s.Matches(o) {
						t.Errorf("%s selector %v also matches pods %v", what, sel, o)
					}
				}
			}
			checkSel("Deployment", dep.Spec.Selector.MatchLabels, connectorPods)
			for _, s := range m.Services {
				if s.Labels["app.kubernetes.io/component"] == "connector" {
					checkSel("Service "+s.Name, s.Spec.Selector, connectorPods)
				}
			}
			for _, p := range m.PDBs {
				checkSel("PodDisruptionBudget", p.Spec.Selector.MatchLabels, connectorPods)
			}
			for _, sm := range m.Monitors {
				if sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("ServiceMonitor endpoint %+v", sm.Spec.Endpoints[0])
				}
				if sm.Labels["release"] != "prom" {
					t.Errorf("ServiceMonitor labels %v", sm.Labels)
				}
				found := false
				for _, s := range m.Services {
					found = found || labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(s.Labels)) && s.Spec.Ports[0].Name == "metrics"
				}
				if !found {
					t.Error("the ServiceMonitor selects no metrics Service")
				}
			}

			// Scaling: no fixed replicas; the scaler targets the Deployment.
			auto, _ := vals["autoscaling"].(map[string]any)
			if auto["enabled"] == true {
				if dep.Spec.Replicas != nil {
					t.Errorf("replicas %d set under autoscaling", *dep.Spec.Replicas)
				}
				checkScaler(t, m, dep, cfg, auto)
			} else if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
				t.Errorf("replicas %v", dep.Spec.Replicas)
			}

			checkCollect(t, m, vals, ctr)
			checkBackfill(t, m, vals, ctr)
		})
	}
}

func countComponent(m *manifests, c string) int {
	n := 0
	for _, s := range m.Services {
		if s.Labels["app.kubernetes.io/component"] == c {
			n++
		}
	}
	return n
}

func firstNonEmpty(vs ...any) string {
	for _, v := range vs {
		if s, _ := v.(string); s != "" {
			return s
		}
	}
	return ""
}

func checkScaler(t *testing.T, m *manifests, dep *appsv1.Deployment, cfg *connector.Config, auto map[string]any) {
	t.Helper()
	if auto["kind"] == "hpa" {
		if len(m.HPAs) != 1 || len(m.ScaledObjs) != 0 {
			t.Fatalf("%d HPAs, %d ScaledObjects", len(m.HPAs), len(m.ScaledObjs))
		}
		h := m.HPAs[0]
		ext := h.Spec.Metrics[0].External
		if h.Spec.ScaleTargetRef.Name != dep.Name || ext == nil || ext.Metric.Name != "bgp_connector_consumer_lag" ||
			ext.Metric.Selector.MatchLabels["group"] != cfg.GroupID || ext.Target.AverageValue.Value() != 10000 {
			t.Errorf("HPA %+v", h.Spec)
		}
		return
	}
	if len(m.ScaledObjs) != 1 || len(m.HPAs) != 0 {
		t.Fatalf("%d ScaledObjects, %d HPAs", len(m.ScaledObjs), len(m.HPAs))
	}
	so := m.ScaledObjs[0]
	tr := so.Spec.Triggers[0]
	md := tr.Metadata
	if so.Spec.ScaleTargetRef.Name != dep.Name || so.Spec.ScaleTargetRef.Kind != "Deployment" || tr.Type != "kafka" ||
		md["bootstrapServers"] != strings.Join(cfg.BootstrapServers, ",") || md["consumerGroup"] != cfg.GroupID {
		t.Errorf("ScaledObject %+v", so.Spec)
	}
	if want, _ := auto["lagThreshold"].(int); want != 0 && md["lagThreshold"] != strconv.Itoa(want) {
		t.Errorf("lagThreshold %q, want %d", md["lagThreshold"], want)
	}
	if len(cfg.Topics) == 1 && md["topic"] != cfg.Topics[0] {
		t.Errorf("topic %q, want %s", md["topic"], cfg.Topics[0])
	}
	sasl := strings.HasPrefix(cfg.SecurityProtocol, "SASL_")
	tls := strings.HasSuffix(cfg.SecurityProtocol, "SSL")
	if wantSASL := map[string]string{"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}[cfg.SASLMechanism]; sasl && md["sasl"] != wantSASL {
		t.Errorf("sasl %q, want %s", md["sasl"], wantSASL)
	}
	if tls != (md["tls"] == "enable") {
		t.Errorf("tls %q with %s", md["tls"], cfg.SecurityProtocol)
	}
	if !sasl && !tls {
		if tr.AuthenticationRef != nil || len(m.TriggerAuths) != 0 {
			t.Error("a TriggerAuthentication for PLAINTEXT")
		}
		return
	}
	if tr.AuthenticationRef == nil || len(m.TriggerAuths) != 1 || m.TriggerAuths[0].Name != tr.AuthenticationRef.Name {
		t.Fatalf("authenticationRef %+v, %d TriggerAuthentications", tr.AuthenticationRef, len(m.TriggerAuths))
	}
	params := map[string]kedaRef{}
	for _, r := range append(m.TriggerAuths[0].Spec.SecretTargetRef, m.TriggerAuths[0].Spec.ConfigMapTargetRef...) {
		params[r.Parameter] = r
	}
	if sasl && (params["password"].Name != "kafka-credentials" || params["password"].Key != "password" || params["username"].Key != "user") {
		t.Errorf("SASL parameters %+v", params)
	}
	if cfg.SSLCALocation != "" && params["ca"].Name == "" {
		t.Errorf("no ca parameter: %+v", params)
	}
	if cfg.SSLCertLocation != "" && (params["cert"].Key != "tls.crt" || params["key"].Key != "tls.key") {
		t.Errorf("client certificate parameters %+v", params)
	}
}

func checkCollect(t *testing.T, m *manifests, vals map[string]any, connectorCtr corev1.Container) {
	t.Helper()
	c, _ := vals["collect"].(map[string]any)
	if c["enabled"] != true {
		if m.Kinds["Deployment"] != 1 || countComponent(m, "collect") != 0 {
			t.Errorf("collect rendered while disabled: %v", m.Kinds)
		}
		return
	}
	d := m.deployment(t, "collect")
	ctr := d.Spec.Template.Spec.Containers[0]
	want := []string{"collect", "--config", "/etc/bgp-connector/connector.properties", "--listen", "0.0.0.0:5000"}
	if extra, _ := c["args"].([]any); len(extra) > 0 {
		for _, a := range extra {
			want = append(want, a.(string))
		}
	}
	if !reflect.DeepEqual(ctr.Args, want) {
		t.Errorf("collect args %v, want %v", ctr.Args, want)
	}
	if !reflect.DeepEqual(ctr.Env, connectorCtr.Env) || !reflect.DeepEqual(ctr.VolumeMounts, connectorCtr.VolumeMounts) || ctr.Image != connectorCtr.Image {
		t.Error("collect does not share the connector's image, environment and mounts")
	}
	if len(ctr.Ports) != 1 || ctr.Ports[0].ContainerPort != 5000 || ctr.Ports[0].Name != "bmp" {
		t.Errorf("collect ports %+v", ctr.Ports)
	}
	var svc *corev1.Service
	for _, s := range m.Services {
		if s.Labels["app.kubernetes.io/component"] == "collect" {
			svc = s
		}
	}
	if svc == nil {
		t.Fatal("no collect Service")
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) ||
		labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(m.deployment(t, "connector").Spec.Template.Labels)) {
		t.Errorf("collect Service selector %v", svc.Spec.Selector)
	}
	if p := svc.Spec.Ports[0]; p.Port != 5000 || p.TargetPort.String() != "bmp" || p.Protocol != corev1.ProtocolTCP {
		t.Errorf("collect Service port %+v", p)
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || len(svc.Spec.LoadBalancerSourceRanges) != 1 {
			t.Errorf("LoadBalancer %+v", svc.Spec)
		}
	case corev1.ServiceTypeClusterIP:
		if svc.Spec.ExternalTrafficPolicy != "" {
			t.Errorf("ClusterIP Service with externalTrafficPolicy %s (the API rejects it)", svc.Spec.ExternalTrafficPolicy)
		}
	}
}

func checkBackfill(t *testing.T, m *manifests, vals map[string]any, connectorCtr corev1.Container) {
	t.Helper()
	b, _ := vals["backfill"].(map[string]any)
	if b["enabled"] != true {
		if len(m.Jobs) != 0 {
			t.Error("backfill Job rendered while disabled")
		}
		return
	}
	if len(m.Jobs) != 1 {
		t.Fatalf("%d Jobs", len(m.Jobs))
	}
	j := m.Jobs[0]
	if !strings.HasSuffix(j.Name, "-backfill-3") || len(j.Name) > 63 {
		t.Errorf("Job name %q: want the release revision suffix, at most 63 characters", j.Name)
	}
	ctr := j.Spec.Template.Spec.Containers[0]
	want := []string{"backfill", "--config", "/etc/bgp-connector/connector.properties"}
	for _, a := range b["args"].([]any) {
		want = append(want, a.(string))
	}
	if !reflect.DeepEqual(ctr.Args, want) || j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		!reflect.DeepEqual(ctr.Env, connectorCtr.Env) || !reflect.DeepEqual(ctr.VolumeMounts, connectorCtr.VolumeMounts) {
		t.Errorf("backfill Job %+v", j.Spec.Template.Spec)
	}
}

// TestChartSchemaRejects checks that values.schema.json refuses bad values,
// each with an error that points at the value.
func TestChartSchemaRejects(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"embedded broker", map[string]any{"config": map[string]any{"bootstrap.servers": "embedded"}}, "bootstrap.servers"},
		{"no brokers", map[string]any{"config": map[string]any{"bootstrap.servers": nil}}, "bootstrap.servers"},
		{"broker without port", map[string]any{"config": map[string]any{"bootstrap.servers": "kafka"}}, "bootstrap.servers"},
		{"misspelt key", map[string]any{"config": map[string]any{"topic": "x"}}, "topic"},
		{"chart-owned key", map[string]any{"config": map[string]any{"security.protocol": "SSL"}}, "security.protocol"},
		{"password in config", map[string]any{"config": map[string]any{"sasl.password": "hunter2"}}, "sasl.password"},
		{"bad enum", map[string]any{"config": map[string]any{"errors.tolerance": "some"}}, "errors.tolerance"},
		{"not a number", map[string]any{"config": map[string]any{"tasks.max": "two"}}, "tasks.max"},
		{"newline in filter", map[string]any{"config": map[string]any{"filter": "peer 1\nname=evil"}}, "filter"},
		{"negative replicas", map[string]any{"replicaCount": -1}, "replicaCount"},
		{"replicas as text", map[string]any{"replicaCount": "two"}, "replicaCount"},
		{"unknown top-level key", map[string]any{"replicas": 3}, "replicas"},
		{"port out of range", map[string]any{"metrics": map[string]any{"port": 70000}}, "port"},
		{"bad protocol", map[string]any{"kafka": map[string]any{"securityProtocol": "TLS"}}, "securityProtocol"},
		{"SASL without a Secret", map[string]any{"kafka": map[string]any{"securityProtocol": "SASL_SSL", "sasl": map[string]any{"username": "u"}}}, "existingSecret"},
		{"SASL without a user", map[string]any{"kafka": map[string]any{"securityProtocol": "SASL_SSL", "sasl": map[string]any{"existingSecret": "s"}}}, "username"},
		{"bad mechanism", map[string]any{"kafka": map[string]any{"sasl": map[string]any{"mechanism": "GSSAPI"}}}, "mechanism"},
		{"bad scaler", map[string]any{"autoscaling": map[string]any{"kind": "vpa"}}, "kind"},
		{"scaling without metrics", map[string]any{"autoscaling": map[string]any{"enabled": true}, "metrics": map[string]any{"enabled": false}}, "enabled"},
		{"bad secretEnv name", map[string]any{"secretEnv": map[string]any{"PASSWORD": map[string]any{"name": "s", "key": "k"}}}, "PASSWORD"},
		{"bad collect Service type", map[string]any{"collect": map[string]any{"service": map[string]any{"type": "External"}}}, "type"},
		{"short grace period", map[string]any{"terminationGracePeriodSeconds": 5}, "terminationGracePeriodSeconds"},
		{"backfill args not strings", map[string]any{"backfill": map[string]any{"args": []any{1}}}, "args"},
	}
	for _, tc := range cases {
		_, err := renderErr(tc.values)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error does not name %q:\n%v", tc.name, tc.want, err)
		}
	}
	// The template's own check, for what the schema cannot see.
	_, err := renderErr(map[string]any{"autoscaling": map[string]any{"enabled": true, "kind": "keda"},
		"kafka": map[string]any{"securityProtocol": "SASL_PLAINTEXT", "sasl": map[string]any{"username": "u", "existingSecret": "s"}}})
	if err == nil || !strings.Contains(err.Error(), "kafka.sasl.usernameKey") {
		t.Errorf("KEDA with a clear-text SASL user: %v", err)
	}
}

// TestChartSchemaFollowsConnectorKeys checks that values.schema.json's
// config section lists exactly the connector's keys less those the chart
// owns, with the connector's enumerations, and that the chart renders every
// key it owns (so none is unreachable).
func TestChartSchemaFollowsConnectorKeys(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]struct {
					Enum []any `json:"enum"`
				} `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	props := schema.Properties.Config.Properties
	var want, got []string
	for _, k := range connector.Keys {
		if !chartOwned[k.Name] {
			want = append(want, k.Name)
		}
		p, ok := props[k.Name]
		if ok && len(k.Allowed) > 0 {
			var enum []string
			for _, e := range p.Enum {
				enum = append(enum, e.(string))
			}
			if !reflect.DeepEqual(enum, k.Allowed) {
				t.Errorf("schema enum of %s %v, connector allows %v", k.Name, enum, k.Allowed)
			}
		}
	}
	for k := range props {
		got = append(got, k)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schema config keys\n %v\nconnector keys less chart-owned\n %v", got, want)
	}
	m := decodeManifests(t, render(t, secureValues("/etc/bgp-connector/tls")))
	rendered := map[string]bool{}
	s, err := connector.ParseProperties(strings.NewReader(m.ConfigMaps[0].Data["connector.properties"]), "configmap")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s {
		rendered[st.Key] = true
	}
	for _, e := range m.deployment(t, "connector").Spec.Template.Spec.Containers[0].Env {
		if k := connector.EnvSettings([]string{e.Name + "=x"}); len(k) == 1 {
			rendered[k[0].Key] = true
		}
	}
	// collect.listen is the collect Deployment's --listen (from collect.port).
	if args := m.deployment(t, "collect").Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--listen") {
		t.Errorf("the collect Deployment has no --listen: %v", args)
	}
	for k := range chartOwned {
		if !rendered[k] && !strings.HasPrefix(k, "embedded.") && k != "collect.listen" {
			t.Errorf("the chart never sets %s", k)
		}
	}
}
