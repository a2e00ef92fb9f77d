package schema

import (
	"encoding/json"
	"testing"
)

func TestSchemasParse(t *testing.T) {
	for _, ty := range Types() {
		c, err := ty.Codec()
		if err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		var doc struct {
			Name   string `json:"name"`
			Fields []struct {
				Name string `json:"name"`
				Doc  string `json:"doc"`
			} `json:"fields"`
		}
		if err := json.Unmarshal([]byte(ty.Text()), &doc); err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		have := map[string]bool{}
		for _, f := range doc.Fields {
			have[f.Name] = true
		}
		// Every output record carries its origin so a consumer can trace it.
		for _, want := range []string{"time_us", "collector", "router", "peer_ip", "peer_asn", "source_topic", "source_partition", "source_offset"} {
			if !have[want] {
				t.Errorf("%s: no field %q", ty, want)
			}
		}
		if c.Rabin == 0 {
			t.Errorf("%s: zero fingerprint", ty)
		}
	}
	for _, ty := range []Type{RIBs, Announcements} {
		for _, want := range []string{"as_path", "communities", "large_communities", "ext_communities", "path_id", "bmp_peer_type", "bmp_post_policy", "bmp_rib"} {
			if !json.Valid([]byte(ty.Text())) || !contains(ty.Text(), `"`+want+`"`) {
				t.Errorf("%s: no field %q", ty, want)
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
