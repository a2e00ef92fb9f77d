package rislive

import (
	"log/slog"
	"net/http"
	"time"
)

// Public RIS Live endpoints.
const (
	// DefaultURL is the websocket API.
	DefaultURL = "wss://ris-live.ripe.net/v1/ws/"
	// FirehoseURL is the HTTP firehose (NDJSON, one message per line).
	FirehoseURL = "https://ris-live.ripe.net/v1/stream/?format=json"
	// DefaultClientName is sent as ?client= (RIS Live asks every client to
	// name itself).
	DefaultClientName = "bgp-connector"
	// DefaultProject labels the records.
	DefaultProject = "ris-live"
	// DefaultMaxMessage is the default limit on one message (a line or a
	// websocket message): a 65535-byte BGP message in hex with its JSON
	// fields fits.
	DefaultMaxMessage = 1 << 20
)

// Opt configures a Decoder, a FileSource or a Client. Options that concern
// only the live connection are ignored by the others.
type Opt interface{ apply(*config) }

type optFunc func(*config)

func (f optFunc) apply(c *config) { f(c) }

type config struct {
	project     string
	logger      *slog.Logger
	maxMessage  int
	clientName  string
	subscribe   Subscribe
	pingEvery   time.Duration
	pongTimeout time.Duration
	maxMissed   int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	maxAttempts int
	idle        time.Duration
	httpClient  *http.Client
}

func newConfig(opts []Opt) config {
	c := config{
		project:     DefaultProject,
		logger:      slog.Default(),
		maxMessage:  DefaultMaxMessage,
		clientName:  DefaultClientName,
		pingEvery:   30 * time.Second,
		pongTimeout: 15 * time.Second,
		maxMissed:   3,
		minBackoff:  time.Second,
		maxBackoff:  60 * time.Second,
		idle:        2 * time.Minute,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithProject sets the project label of the records (default "ris-live").
func WithProject(p string) Opt { return optFunc(func(c *config) { c.project = p }) }

// WithLogger sets the logger for damage, server errors and reconnections
// (default slog.Default()).
func WithLogger(l *slog.Logger) Opt {
	return optFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMaxMessage bounds one message in bytes (default DefaultMaxMessage).
// A longer line is skipped and counted; a longer websocket message makes the
// connection close, and the client reconnects.
func WithMaxMessage(n int) Opt {
	return optFunc(func(c *config) {
		if n > 0 {
			c.maxMessage = n
		}
	})
}

// WithClientName sets the ?client= name sent to RIS Live (default
// "bgp-connector"), unless the URL already carries one.
func WithClientName(name string) Opt { return optFunc(func(c *config) { c.clientName = name }) }

// WithSubscribe sets what the client subscribes to (default: everything).
// See Subscribe for what RIS Live filters and what the caller must still
// filter locally.
func WithSubscribe(s Subscribe) Opt { return optFunc(func(c *config) { c.subscribe = s }) }

// WithPing sets the websocket keepalive: a ping every interval (default 30
// s), a pong awaited for timeout (default 15 s), and the connection closed
// and reopened after maxMissed pings in a row went unanswered (default 3).
// An interval of 0 disables pings. The firehose has no pings: see
// WithIdleTimeout.
func WithPing(interval, timeout time.Duration, maxMissed int) Opt {
	return optFunc(func(c *config) {
		c.pingEvery, c.pongTimeout, c.maxMissed = interval, timeout, max(maxMissed, 1)
	})
}

// WithBackoff sets the delay before reconnecting: it starts at min (default
// 1 s) and doubles with each failed attempt up to max (default 60 s), with
// jitter; it never exceeds max. After a connection that delivered messages
// the delay starts again from min.
func WithBackoff(min, max time.Duration) Opt {
	return optFunc(func(c *config) {
		if min > 0 {
			c.minBackoff = min
		}
		if max >= c.minBackoff {
			c.maxBackoff = max
		}
	})
}

// WithMaxAttempts makes Next fail after n connection attempts in a row have
// failed (default 0: retry for ever, as a live feed should). A refused
// handshake with a 4xx status (other than 408 and 429) always fails at once.
func WithMaxAttempts(n int) Opt { return optFunc(func(c *config) { c.maxAttempts = n }) }

// WithIdleTimeout closes and reopens a connection on which no data arrived
// for d (default 2 minutes; 0 disables). It is the firehose's keepalive;
// on the websocket, pings do that job (a quiet subscription is not idle
// while pongs come back).
func WithIdleTimeout(d time.Duration) Opt { return optFunc(func(c *config) { c.idle = d }) }

// WithHTTPClient sets the HTTP client for the websocket handshake and the
// firehose (default: a client without timeout on the default transport).
func WithHTTPClient(h *http.Client) Opt { return optFunc(func(c *config) { c.httpClient = h }) }
