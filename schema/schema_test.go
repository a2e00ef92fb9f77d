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

// TestBackfillSchema: the work item schema parses and round-trips a datum
// in single-object encoding, with its optional fields absent and present.
func TestBackfillSchema(t *testing.T) {
	c, err := BackfillCodec()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rabin == 0 || !json.Valid([]byte(BackfillText())) {
		t.Fatal("no fingerprint or invalid JSON")
	}
	for _, size := range []any{nil, map[string]any{"long": int64(34060)}} {
		in := map[string]any{"url": "https://x/rrc00/2015.04/updates.20150401.0000.gz", "project": "ris", "collector": "rrc00",
			"record_type": "updates", "initial_time": int64(1427846400), "duration": int64(300), "expected_size": size, "format": "mrt",
			"windows": []any{map[string]any{"start_us": int64(1427846400e6), "end_us": nil}}}
		b, err := c.SingleFromNative(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := c.NativeFromSingle(b)
		if err != nil {
			t.Fatal(err)
		}
		m := out.(map[string]any)
		if m["url"] != in["url"] || m["duration"] != int64(300) || len(m["windows"].([]any)) != 1 {
			t.Errorf("round trip: %v", m)
		}
	}
}
