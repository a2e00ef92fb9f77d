package helm

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// manifests are the objects of one rendering, decoded strictly into their
// API types.
type manifests struct {
	ConfigMaps   []*corev1.ConfigMap
	Deployments  []*appsv1.Deployment
	Services     []*corev1.Service
	PDBs         []*policyv1.PodDisruptionBudget
	Jobs         []*batchv1.Job
	HPAs         []*autoscalingv2.HorizontalPodAutoscaler
	Monitors     []*monitoringv1.ServiceMonitor
	ScaledObjs   []*kedaScaledObject
	TriggerAuths []*kedaTriggerAuthentication
	// Kinds counts the objects per kind.
	Kinds map[string]int
}

// kedaScaledObject mirrors the fields of KEDA's keda.sh/v1alpha1
// ScaledObject that the chart may set (KEDA's Go module is not in this
// module's graph); strict decoding into it catches a misspelt field.
type kedaScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

// kedaTriggerAuthentication mirrors keda.sh/v1alpha1 TriggerAuthentication's
// secret and config map references.
type kedaTriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef    []kedaRef `json:"secretTargetRef"`
		ConfigMapTargetRef []kedaRef `json:"configMapTargetRef"`
	} `json:"spec"`
}

type kedaRef struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// decodeManifests splits every rendered template into YAML documents and
// decodes each strictly (unknown or duplicate fields are errors) into the
// API type of its apiVersion and kind.
func decodeManifests(t *testing.T, out map[string]string) *manifests {
	t.Helper()
	m := &manifests{Kinds: map[string]int{}}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for i, doc := range strings.Split(out[name], "\n---") {
			if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d is not YAML: %v\n%s", name, i, err, doc)
			}
			obj, err := m.add(tm)
			if err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d does not decode strictly as %s %s: %v\n%s", name, i, tm.APIVersion, tm.Kind, err, numbered(doc))
			}
			m.Kinds[tm.Kind]++
		}
	}
	return m
}

// add returns a new object of the type of tm, appended to m.
func (m *manifests) add(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 ConfigMap":
		return appendNew(&m.ConfigMaps), nil
	case "apps/v1 Deployment":
		return appendNew(&m.Deployments), nil
	case "v1 Service":
		return appendNew(&m.Services), nil
	case "policy/v1 PodDisruptionBudget":
		return appendNew(&m.PDBs), nil
	case "batch/v1 Job":
		return appendNew(&m.Jobs), nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return appendNew(&m.HPAs), nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return appendNew(&m.Monitors), nil
	case "keda.sh/v1alpha1 ScaledObject":
		return appendNew(&m.ScaledObjs), nil
	case "keda.sh/v1alpha1 TriggerAuthentication":
		return appendNew(&m.TriggerAuths), nil
	}
	return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
}

// appendNew appends a new T to list and returns it.
func appendNew[T any](list *[]*T) *T {
	o := new(T)
	*list = append(*list, o)
	return o
}

// deployment returns the Deployment of a component (connector, collect).
func (m *manifests) deployment(t *testing.T, component string) *appsv1.Deployment {
	t.Helper()
	for _, d := range m.Deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == component {
			return d
		}
	}
	t.Fatalf("no %s Deployment", component)
	return nil
}

func numbered(doc string) string {
	var b bytes.Buffer
	for i, l := range strings.Split(doc, "\n") {
		fmt.Fprintf(&b, "%3d %s\n", i+1, l)
	}
	return b.String()
}
