package bgpstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
)

// RouteViews' public BMP stream (archives-and-live.md §6).
const (
	routeviewsStreamBrokers = "stream.routeviews.org:9092"
	routeviewsStreamTopics  = `^routeviews\..+\.bmp_raw$`
)

// routeviewsTopic splits "routeviews.<collector>.<peer_asn>.bmp_raw".
var routeviewsTopic = regexp.MustCompile(`^routeviews\.(.+)\.([0-9]+)\.bmp_raw$`)

func init() {
	register(&diSpec{
		info: DataInterfaceInfo{Name: "kafka", Description: "Read BGP data from Kafka topics (OpenBMP/BMP, MRT or RIS Live values), e.g. a private OpenBMP feed or RouteViews' BMP stream (-p routeviews-stream)",
			Options: []OptionInfo{
				{Name: "brokers", Description: "bootstrap brokers, comma-separated (-p routeviews-stream: " + routeviewsStreamBrokers + ")"},
				{Name: "topic", Description: "topics, comma-separated; a value starting with ^ is a regex (-p routeviews-stream: " + routeviewsStreamTopics + ")"},
				{Name: "group", Description: "consumer group (default a random one: nothing is committed)"},
				{Name: "offset", Description: "where a partition without a committed offset starts: earliest or latest (default latest)"},
				{Name: "data-type", Description: "what the values hold: bmp (OpenBMP or raw BMP), openbmp, mrt or ris-live (default bmp)"},
				{Name: "project", Description: "project label of the records (default kafka; routeviews-stream for its preset)"},
				{Name: "collector", Description: "collector label (default: the OpenBMP admin id; for RouteViews topics the collector in the topic name)"},
				{Name: "stop-at-end", Description: "true: stop at the end of the data present when the read started, instead of following"},
			}},
		make: newKafkaDI,
	})
}

func newKafkaDI(s *Stream, o map[string][]string) (dataInterface, error) {
	preset := contains(s.cfg.projects, "routeviews-stream")
	brokers, topics := last(o, "brokers"), last(o, "topic")
	project := last(o, "project")
	if preset {
		if brokers == "" {
			brokers = routeviewsStreamBrokers
		}
		if topics == "" {
			topics = routeviewsStreamTopics
		}
		if project == "" {
			project = "routeviews-stream"
		}
	}
	if project == "" {
		project = "kafka"
	}
	if brokers == "" || topics == "" {
		return nil, fmt.Errorf("kafka: set brokers and topic (-o brokers=HOST:9092 -o topic=openbmp.bmp_raw), or -p routeviews-stream")
	}
	g := ingest.GroupOptions{Group: last(o, "group"), FetchMaxWait: 50 * time.Millisecond}
	commit := g.Group != ""
	if g.Group == "" {
		g.Group = "bgpstream-" + randomID()
	}
	switch off := last(o, "offset"); off {
	case "", "latest":
		g.ResetLatest = true
	case "earliest":
	default:
		return nil, fmt.Errorf("kafka: offset %q: want earliest or latest", off)
	}
	if strings.HasPrefix(topics, "^") {
		g.TopicsRegex = topics
		if _, err := regexp.Compile(topics); err != nil {
			return nil, fmt.Errorf("kafka: topic regex %q: %w", topics, err)
		}
	} else {
		g.Topics = filter.SplitList([]string{topics})
	}
	stop, err := parseBool("stop-at-end", last(o, "stop-at-end"))
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	var vf ingest.ValueFormat
	switch dt := last(o, "data-type"); dt {
	case "", "bmp", "openbmp":
		vf = ingest.BMPValues{}
	case "mrt":
		vf = ingest.MRTValues{Project: project, Collector: last(o, "collector")}
	case "ris-live":
		vf = risLiveValues{project: project}
	default:
		return nil, fmt.Errorf("kafka: data-type %q: want bmp, openbmp, mrt or ris-live", dt)
	}
	vf = labelled{ValueFormat: vf, project: project, collector: last(o, "collector")}
	seeds := filter.SplitList([]string{brokers})
	name := "kafka://" + strings.Join(seeds, ",") + "/" + topics
	r := &resource{Name: name, Project: project, Type: decode.RecordUpdate, Format: "kafka"}
	r.open = func(ctx context.Context, _ bool) (ingest.Source, error) {
		return openKafka(ctx, s, seeds, g, vf, stop, commit)
	}
	return &static{res: []*resource{r}}, nil
}

// labelled relabels the records of a value format: project, and the
// collector given, or the one a RouteViews topic name carries.
type labelled struct {
	ingest.ValueFormat
	project, collector string
}

func (l labelled) NewDecoder(topic string, partition int32) ingest.ValueDecoder {
	coll := l.collector
	if coll == "" {
		if m := routeviewsTopic.FindStringSubmatch(topic); m != nil {
			coll = m[1]
		}
	}
	return &labelledDecoder{d: l.ValueFormat.NewDecoder(topic, partition), project: l.project, collector: coll}
}

type labelledDecoder struct {
	d                  ingest.ValueDecoder
	project, collector string
}

func (l *labelledDecoder) AppendTo(b *decode.Batch, value []byte, offset int64, ts time.Time) error {
	n := len(b.Records)
	err := l.d.AppendTo(b, value, offset, ts)
	for i := n; i < len(b.Records); i++ {
		b.Records[i].Project = l.project
		if l.collector != "" {
			b.Records[i].Collector = l.collector
		}
	}
	return err
}

// kafkaStream reads a consumer group's topics as a stream source; with
// stopAtEnd it ends once every partition reached the end it had when the
// read started.
type kafkaStream struct {
	src    *ingest.KafkaSource
	ends   map[ingest.TopicPartition]int64
	commit bool
	last   time.Time
}

func openKafka(ctx context.Context, s *Stream, seeds []string, g ingest.GroupOptions, vf ingest.ValueFormat, stopAtEnd, commit bool) (ingest.Source, error) {
	base := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("bgp-connector-read")}
	src, err := ingest.NewKafkaSource(base, ingest.KafkaOptions{Group: g, Format: vf, SkipErrors: true, LogErrors: true, Log: s.cfg.log})
	if err != nil {
		return nil, err
	}
	ks := &kafkaStream{src: src, commit: commit}
	if stopAtEnd {
		if ks.ends, err = endOffsets(ctx, base, g); err != nil {
			src.Close()
			return nil, err
		}
	}
	return ks, nil
}

// endOffsets lists the end offsets of the group's topics now.
func endOffsets(ctx context.Context, base []kgo.Opt, g ingest.GroupOptions) (map[ingest.TopicPartition]int64, error) {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	topics := g.Topics
	if g.TopicsRegex != "" {
		re := regexp.MustCompile(g.TopicsRegex)
		td, err := adm.ListTopics(tctx)
		if err != nil {
			return nil, fmt.Errorf("kafka: listing topics: %w", err)
		}
		topics = nil
		for t := range td {
			if re.MatchString(t) {
				topics = append(topics, t)
			}
		}
	}
	ends := map[ingest.TopicPartition]int64{}
	if len(topics) == 0 {
		return ends, nil
	}
	lo, err := adm.ListEndOffsets(tctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: end offsets of %v: %w", topics, err)
	}
	var ferr error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && ferr == nil {
			ferr = fmt.Errorf("kafka: end offset of %s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		ends[ingest.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
	})
	return ends, ferr
}

func (k *kafkaStream) Next(ctx context.Context, b *decode.Batch) error {
	if k.ends != nil && k.atEnd() {
		return io.EOF
	}
	if k.ends != nil && len(k.ends) > 0 {
		// Do not block past the end: poll with a deadline and check again.
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			err := k.src.Next(pctx, b)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pctx.Err() == nil {
				return err
			}
			if k.atEnd() {
				return io.EOF
			}
		}
	} else if err := k.src.Next(ctx, b); err != nil {
		return err
	}
	if k.commit && time.Since(k.last) > 5*time.Second {
		k.last = time.Now()
		k.src.Commit(ctx)
	}
	return nil
}

func (k *kafkaStream) atEnd() bool {
	for tp, end := range k.ends {
		if k.src.Position(tp.Topic, tp.Partition) < end {
			return false
		}
	}
	return true
}

func (k *kafkaStream) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if k.commit {
		return k.src.Shutdown(ctx)
	}
	k.src.Close()
	return nil
}

// randomID returns 12 random hex digits (a private consumer group).
func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
