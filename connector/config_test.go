package connector

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, text string) []Setting {
	t.Helper()
	s, err := ParseProperties(strings.NewReader(text), "c.properties")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaults(t *testing.T) {
	c, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded || c.BootstrapServers != nil || c.GroupID != "connect-bgp-connector" || len(c.Topics) != 1 || c.Topics[0] != "openbmp.bmp_raw" ||
		c.OutputTopicPrefix != "bgp.elems" || c.KeyField != "prefix" || c.ErrorsTolerance != "none" ||
		c.AutoOffsetReset != "earliest" || c.TasksMax != 1 || c.ValueFormat != "avro-single-object" ||
		c.OffsetFlushInterval != time.Second || c.InputFormat != "openbmp" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.TopicFor("ribs") != "bgp.elems.ribs" {
		t.Fatal(c.TopicFor("ribs"))
	}
}

func TestPropertiesSyntax(t *testing.T) {
	s := parse(t, `# comment
! also a comment
name = my-conn
group.id:g1
topics   a,\
         b , c
filter prefix more 10.0.0.0/8 and peer 65000
output.topic.prefix=x\u002ey
empty=
`)
	want := []Setting{
		{"name", "my-conn", "c.properties:3"},
		{"group.id", "g1", "c.properties:4"},
		{"topics", "a,b , c", "c.properties:5"},
		{"filter", "prefix more 10.0.0.0/8 and peer 65000", "c.properties:7"},
		{"output.topic.prefix", "x.y", "c.properties:8"},
		{"empty", "", "c.properties:9"},
	}
	if len(s) != len(want) {
		t.Fatalf("got %d settings: %+v", len(s), s)
	}
	for i := range want {
		if s[i] != want[i] {
			t.Errorf("setting %d = %+v, want %+v", i, s[i], want[i])
		}
	}
	if _, err := ParseProperties(strings.NewReader("a=\\u12\n"), "bad.properties"); err == nil || !strings.Contains(err.Error(), "bad.properties:1") {
		t.Errorf("bad escape: %v", err)
	}
}

func TestPrecedenceFileEnvSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.properties")
	os.WriteFile(path, []byte("group.id=file\ntasks.max=2\nkey.field=peer\n"), 0o644)
	sets := []string{"key.field=router"}
	env := []string{"BGP_CONNECTOR_TASKS_MAX=3", "BGP_CONNECTOR_KEY_FIELD=none", "HOME=/root"}
	c, err := LoadConfig(path, env, sets)
	if err != nil {
		t.Fatal(err)
	}
	if c.GroupID != "file" || c.TasksMax != 3 || c.KeyField != "router" {
		t.Fatalf("group %q tasks %d key %q", c.GroupID, c.TasksMax, c.KeyField)
	}
	if c.Origin("tasks.max") != "env BGP_CONNECTOR_TASKS_MAX" || c.Origin("group.id") != path+":1" || c.Origin("key.field") != "--set" {
		t.Fatalf("origins: %v", c.origins)
	}
}

// TestValidationMessages checks the message of every validation error path.
func TestValidationMessages(t *testing.T) {
	cases := []struct{ props, want string }{
		{"topic=a", `c.properties:1: topic: unknown key; did you mean "topics"?`},
		{"zzzzzzzzzzzzzzzzzzzzzz=1", `zzzzzzzzzzzzzzzzzzzzzz: unknown key (bgp-connector run --print-config lists every key)`},
		{"name=", `c.properties:1: name: must not be empty`},
		{"errors.tolerance=some", `c.properties:1: errors.tolerance: "some" is not allowed; use one of none, all`},
		{"input.format=json", `input.format: "json" is not allowed; use one of openbmp, bmp, mrt, ris-live, archive`},
		{"value.format=json", `value.format: "json" is not allowed; use one of avro-single-object, avro-confluent`},
		{"input.format=ris-live\ntasks.max=2", `tasks.max: more than 1 with input.format=ris-live: each task would read the whole feed and publish it again`},
		{"input.format=ris-live\nexactly.once.support=required", `exactly.once.support: required with input.format=ris-live: RIS Live has no offsets to commit in a transaction; use disabled`},
		{"key.field=asn", `key.field: "asn" is not allowed; use one of prefix, peer, router, none`},
		{"compression.type=brotli", `compression.type: "brotli" is not allowed; use one of none, gzip, snappy, lz4, zstd`},
		{"consumer.auto.offset.reset=none", `consumer.auto.offset.reset: "none" is not allowed; use one of earliest, latest`},
		{"security.protocol=TLS", `security.protocol: "TLS" is not allowed; use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`},
		{"sasl.mechanism=GSSAPI", `sasl.mechanism: "GSSAPI" is not allowed; use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`},
		{"exactly.once.support=requested", `exactly.once.support: "requested" is not allowed; use one of disabled, required`},
		{"bmp.peer.up.state=up", `bmp.peer.up.state: "up" is not allowed; use one of established, active`},
		{"tasks.max=0", `tasks.max: 0 is out of range [1, 256]`},
		{"tasks.max=two", `tasks.max: "two" is not an integer`},
		{"embedded.port=70000", `embedded.port: 70000 is out of range [0, 65535]`},
		{"embedded.partitions=0", `embedded.partitions: 0 is out of range [1, 1000]`},
		{"topic.creation.default.partitions=-2", `topic.creation.default.partitions: -2 is out of range [-1, 100000]`},
		{"topic.creation.default.replication.factor=x", `topic.creation.default.replication.factor: "x" is not an integer`},
		{"offset.flush.interval.ms=5", `offset.flush.interval.ms: 5 ms is out of range [10, 3600000]`},
		{"linger.ms=soon", `linger.ms: "soon" is not an integer number of milliseconds`},
		{"consumer.fetch.max.wait.ms=0", `consumer.fetch.max.wait.ms: 0 ms is out of range [1, 60000]`},
		{"session.timeout.ms=10", `session.timeout.ms: 10 ms is out of range [1000, 3600000]`},
		{"errors.log.enable=yes", `errors.log.enable: "yes" is not true or false`},
		{"errors.deadletterqueue.context.headers.enable=1", `errors.deadletterqueue.context.headers.enable: "1" is not true or false`},
		{"bootstrap.servers=", `bootstrap.servers: must list at least one host:port, or be "embedded"`},
		{"bootstrap.servers=kafka", `bootstrap.servers: "kafka" is not host:port`},
		{"bootstrap.servers=kafka:x", `bootstrap.servers: "kafka:x" has no valid port (1-65535)`},
		{"bootstrap.servers=embedded,k:9092", `bootstrap.servers: "embedded" cannot be combined with other brokers`},
		{"topics.regex=(", `topics.regex: bad regular expression: error parsing regexp: missing closing ): ` + "`(`"},
		{"topics=a\ntopics.regex=b.*", `c.properties:2: topics.regex: set together with topics; set only one of them`},
		{"topics=", `topics: no input topic: set topics or topics.regex`},
		{"output.topic.prefix=a b", `output.topic.prefix: "a b" is not a valid topic name prefix (letters, digits, '.', '_', '-')`},
		{"schema.registry.url=localhost:8081", `schema.registry.url: "localhost:8081" is not an http(s) URL`},
		{"value.format=avro-confluent", `schema.registry.url: required by value.format=avro-confluent`},
		{"errors.deadletterqueue.topic.name=dlq", `errors.deadletterqueue.topic.name: set while errors.tolerance=none; dead letters need errors.tolerance=all`},
		{"topics=bgp.elems.ribs", `topics: input or dead letter topic "bgp.elems.ribs" is under output.topic.prefix "bgp.elems": the connector would read its own output`},
		{"bootstrap.servers=k:9092\nsecurity.protocol=SASL_SSL", `sasl.username: security.protocol=SASL_SSL needs sasl.username and sasl.password`},
		{"sasl.username=u\nsasl.password=p", `sasl.username: SASL credentials set but security.protocol=PLAINTEXT; use SASL_PLAINTEXT or SASL_SSL`},
		{"ssl.ca.location=/ca.pem", `security.protocol: ssl.* files set but security.protocol=PLAINTEXT; use SSL or SASL_SSL`},
		{"bootstrap.servers=k:9092\nsecurity.protocol=SSL\nssl.key.location=k.pem", `ssl.certificate.location: ssl.certificate.location and ssl.key.location go together`},
		{"bootstrap.servers=embedded\nsecurity.protocol=SSL", `security.protocol: the embedded broker speaks PLAINTEXT only`},
		{"metrics.listen=9464", `metrics.listen: "9464" is not host:port`},
		{"metrics.listen=:http", `metrics.listen: ":http" has no valid port`},
		// Values that Kafka or its client would refuse at run time (once
		// silently: a 300-character prefix delivered nothing, logged nothing).
		{"name=" + longValue(257), `name: 257 bytes long; the name is the Kafka client id, which the Kafka client (franz-go) limits to 256 bytes (it also prefixes the default group id and transactional ids)`},
		{"output.topic.prefix=" + longValue(236), `output.topic.prefix: 236 characters long: output topic ` + longValue(236) + `.announcements would have 250; Kafka topic names have at most 249, so the prefix at most 235`},
		{"output.topic.prefix=..", `output.topic.prefix: ".." is not a valid topic name prefix (letters, digits, '.', '_', '-')`},
		{"errors.tolerance=all\nerrors.deadletterqueue.topic.name=" + longValue(250), `errors.deadletterqueue.topic.name: 250 characters long; Kafka topic names have at most 249`},
		{"errors.tolerance=all\nerrors.deadletterqueue.topic.name=dead letters", `errors.deadletterqueue.topic.name: "dead letters" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`},
		{"errors.tolerance=all\nerrors.deadletterqueue.topic.name=..", `errors.deadletterqueue.topic.name: ".." is not a valid Kafka topic name ("." and ".." are reserved)`},
		{"topics=ok,bad topic", `topics: "bad topic" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`},
		{"input.format=archive\nbackfill.tasks=1", `backfill.tasks: set to 1 with input.format=archive, where every one of the tasks.max tasks is a backfill task; set tasks.max instead`},
		{"backfill.topic=", `backfill.topic: must not be empty`},
		{"backfill.topic=a b", `backfill.topic: "a b" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`},
		{"backfill.state.topic=bgp.backfill", `backfill.state.topic: "bgp.backfill" is also backfill.topic; the work items and their states need a topic each`},
		{"backfill.topic=bgp.elems.todo", `backfill.topic: "bgp.elems.todo" is under output.topic.prefix "bgp.elems": it would be taken for an output topic`},
		{"backfill.tasks=1\ntopics=bgp.backfill", `topics: "bgp.backfill" is a backfill topic; backfill tasks read it (input.format=archive or backfill.tasks), not the input tasks`},
		{"backfill.checkpoint.elems=5000", `backfill.checkpoint.elems: 5000 is out of range [10000, 100000000]`},
		{"backfill.partitions=0", `backfill.partitions: 0 is out of range [1, 10000]`},
		{"backfill.checkpoint.interval.ms=10", `backfill.checkpoint.interval.ms: 10 ms is out of range [100, 3600000]`},
		{"input.format=archive\ntransactional.id.prefix=" + longValue(16372), `transactional.id.prefix: 16372 bytes long; the backfill tasks' transactional ids (<prefix>-backfill-<task>) are limited to 16382 bytes by the Kafka client (franz-go)`},
		{"transactional.id.prefix=" + longValue(16380), `transactional.id.prefix: 16380 bytes long; transactional ids (<prefix>-<task>) are limited to 16382 bytes by the Kafka client (franz-go)`},
	}
	for _, tc := range cases {
		_, err := NewConfig(parse(t, tc.props))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%.60q: error %v, want a *ConfigError", tc.props, err)
			continue
		}
		found := false
		for _, p := range ce.Problems {
			if strings.HasSuffix(p.String(), tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%.60q:\n got  %v\n want ...%s", tc.props, err, tc.want)
		}
	}
}

func TestEveryProblemListed(t *testing.T) {
	_, err := NewConfig(parse(t, "tasks.max=0\nkey.field=x\nnope=1\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "configuration: 3 problems:\n  c.properties:") {
		t.Fatalf("message: %q", err.Error())
	}
}

func TestEnvAndSetErrors(t *testing.T) {
	_, err := LoadConfig("", []string{"BGP_CONNECTOR_TASKS_MAXX=2"}, nil)
	if err == nil || !strings.Contains(err.Error(), `env BGP_CONNECTOR_TASKS_MAXX: tasks.maxx: unknown key; did you mean "tasks.max"?`) {
		t.Errorf("env typo: %v", err)
	}
	_, err = LoadConfig("", nil, []string{"tasks.max"})
	if err == nil || err.Error() != `configuration: --set: "tasks.max" is not key=value` {
		t.Errorf("--set without '=': %v", err)
	}
	_, err = LoadConfig("/nonexistent/c.properties", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/c.properties") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRegexReplacesDefaultTopics(t *testing.T) {
	c, err := NewConfig(parse(t, `topics.regex=routeviews\..*\.bmp_raw`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Topics) != 0 || c.TopicsRegex == "" {
		t.Fatalf("topics %v regex %q", c.Topics, c.TopicsRegex)
	}
}

func TestExampleFileIsValid(t *testing.T) {
	var b strings.Builder
	if err := WriteExample(&b); err != nil {
		t.Fatal(err)
	}
	s := parse(t, b.String())
	if len(s) == 0 {
		t.Fatal("example sets nothing")
	}
	if _, err := NewConfig(s); err != nil {
		t.Fatalf("generated example does not validate: %v", err)
	}
	// The shipped example must validate too.
	f, err := os.Open(filepath.Join("..", "connector.properties"))
	if err != nil {
		t.Skip("no connector.properties at the repository root yet")
	}
	defer f.Close()
	s, err = ParseProperties(f, "connector.properties")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewConfig(s); err != nil {
		t.Fatalf("connector.properties: %v", err)
	}
}

// longValue returns a value of n characters.
func longValue(n int) string { return strings.Repeat("a", n) }

// TestNameAndTopicLimits: the name, output topic prefix and dead letter
// topic at Kafka's limits are accepted (TestValidationMessages has the
// values one past them).
func TestNameAndTopicLimits(t *testing.T) {
	ok := "name=" + longValue(256) + "\noutput.topic.prefix=" + longValue(235) + "\nerrors.tolerance=all\nerrors.deadletterqueue.topic.name=" + longValue(249)
	if _, err := NewConfig(parse(t, ok)); err != nil {
		t.Errorf("values at the limits: %v", err)
	}
}

// TestPropertiesBOM: a UTF-8 byte order mark (as Windows editors write it)
// is not part of the first key.
func TestPropertiesBOM(t *testing.T) {
	for _, text := range []string{"\ufeffname=x\ntasks.max=2\n", "\ufeff# comment\nname=x\ntasks.max=2\n"} {
		c, err := NewConfig(parse(t, text))
		if err != nil || c.Name != "x" || c.TasksMax != 2 {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// TestProblemsAreEscaped: keys, values and file names reach the terminal
// with control characters escaped, so a configuration file (or its name)
// cannot inject terminal escape sequences; the unknown-key message points
// to the command that lists every key.
func TestProblemsAreEscaped(t *testing.T) {
	const esc = "\x1b]0;pwned\a\x1b[2J"
	dir := t.TempDir()
	path := filepath.Join(dir, "c"+esc+".properties")
	if err := os.WriteFile(path, []byte("zzzzzzzz"+esc+"zzzzzzzz=1\nname"+esc+"=x\ntopics.regex=("+esc+"\na=\\u12"+esc+"\n"), 0o644); err != nil {
		t.Skipf("file name with control characters: %v", err)
	}
	_, err := LoadConfig(path, []string{"BGP_CONNECTOR_" + esc + "=1"}, []string{"x" + esc + "=1"})
	if err == nil {
		t.Fatal("no error")
	}
	_, err2 := NewConfig(parse(t, "zzzzzzzz"+esc+"zzzzzzzz=1\nname"+esc+"=x\ntopics.regex=("+esc+"\n"), EnvSettings([]string{"BGP_CONNECTOR_" + esc + "=1"}))
	_, err3 := ParseProperties(strings.NewReader("a=\\u12"+esc+"\n"), "f"+esc)
	for _, e := range []error{err, err2, err3} {
		if e == nil {
			t.Fatal("no error")
		}
		msg := e.Error()
		if strings.ContainsAny(msg, "\x1b\a") {
			t.Errorf("raw control characters in %q", msg)
		}
		if !strings.Contains(msg, `\x1b`) {
			t.Errorf("escape not shown escaped in %q", msg)
		}
	}
	if !strings.Contains(err2.Error(), "unknown key (bgp-connector run --print-config lists every key)") {
		t.Errorf("unknown key message: %v", err2)
	}
}
