package rislive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
)

var (
	_ ingest.Source = (*Client)(nil)
	_ ingest.Source = (*FileSource)(nil)
)

// Client reads the live RIS Live feed. It implements ingest.Source: Next
// blocks until messages arrive, and returns as soon as some are decoded
// (the batch's Source is the URL, each record's Offset the number of bytes
// received before its message on all connections so far).
//
// The URL's scheme picks the transport: ws:// and wss:// the websocket API
// (DefaultURL), where the client sends one ris_subscribe message per
// Subscription of its Subscribe and pings every 30 s; http:// and https://
// the firehose (FirehoseURL), NDJSON with the subscription in the
// X-RIS-Subscribe header. The client name goes in ?client=.
//
// A connection runs on its own goroutine, which reads ahead into two
// buffers of at most 256 KiB each; when the caller does not keep up, it
// stops reading and TCP pushes back, until RIS Live closes the connection
// as too slow (ErrSlowConsumer). When a connection drops, for whatever
// cause, the client reconnects with capped backoff and subscribes again,
// and adds a decode.Gap with a *GapError before the first record of the
// new connection: RIS Live cannot replay what it sent in between.
//
// Close ends the connection and makes a blocked Next return ErrClosed;
// cancelling Next's context makes it return the context's error, and the
// connection stays up for the next call.
type Client struct {
	cfg  config
	url  string
	ws   bool
	subs []Subscription
	hdr  string // X-RIS-Subscribe for the firehose
	c    counters
	dec  *Decoder
	rep  reporter
	hc   *http.Client

	q       queue
	mu      sync.Mutex
	started bool
	closing bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	closed  chan struct{}

	// The reading goroutine's state.
	off   int64 // bytes received so far
	wsBuf []byte
	sp    *splitter

	// Next's state.
	cur      *chunk
	pos      int
	line     int64
	last     int64     // time of the last record, µs
	pending  *GapError // a drop reported before the next record
	pendOff  int64
	slowSeen bool
	fatal    error
}

// New returns a client for the RIS Live feed at rawURL (DefaultURL when
// empty). It does not connect: the first Next does.
func New(rawURL string, opts ...Opt) (*Client, error) {
	cfg := newConfig(opts)
	if rawURL == "" {
		rawURL = DefaultURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rislive: URL %q: %w", rawURL, err)
	}
	c := &Client{cfg: cfg, done: make(chan struct{}), closed: make(chan struct{})}
	q := u.Query()
	switch u.Scheme {
	case "ws", "wss":
		c.ws = true
		c.subs = cfg.subscribe.Subscriptions()
	case "http", "https":
		if q.Get("format") == "" {
			q.Set("format", "json")
		}
		h, err := json.Marshal(cfg.subscribe.Firehose())
		if err != nil {
			return nil, fmt.Errorf("rislive: subscription: %w", err)
		}
		c.hdr = string(h)
		c.sp = newSplitter(nil, cfg.maxMessage)
	default:
		return nil, fmt.Errorf("rislive: URL %q: scheme must be ws, wss (websocket API), http or https (firehose)", rawURL)
	}
	if q.Get("client") == "" && cfg.clientName != "" {
		q.Set("client", cfg.clientName)
	}
	u.RawQuery = q.Encode()
	c.url = u.String()
	c.hc = &http.Client{}
	if cfg.httpClient != nil {
		// The firehose streams: a client timeout would cut it.
		hc := *cfg.httpClient
		hc.Timeout = 0
		c.hc = &hc
	}
	c.dec = newDecoder(cfg, &c.c)
	c.rep = reporter{name: c.url, log: cfg.logger, c: &c.c, gapFirst: c.flushPending}
	c.cur = new(chunk)
	c.q.init(256 << 10)
	return c, nil
}

// URL returns the URL the client connects to (with ?client=).
func (c *Client) URL() string { return c.url }

// Subscriptions returns the ris_subscribe data the client sends on each
// websocket connection (nil for the firehose).
func (c *Client) Subscriptions() []Subscription { return c.subs }

// Stats returns the client's counters; it may be called from any
// goroutine.
func (c *Client) Stats() Stats { return c.c.snapshot() }

func (c *Client) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closing {
		return
	}
	c.started = true
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
}

// Close closes the connection and stops the client; a blocked Next
// returns ErrClosed. It waits for the reading goroutine to end.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	close(c.closed)
	started := c.started
	if started {
		c.cancel()
	}
	c.mu.Unlock()
	if started {
		<-c.done
	}
	return nil
}

// Next fills b with the records decoded from the messages received, up to
// ingest.BatchRecords records or ingest.BatchElems elems. It blocks until
// there is at least one record or gap; it returns ctx.Err() when ctx ends
// first, ErrClosed after Close, and a *DialError when connecting failed for
// good (a refused handshake, or WithMaxAttempts exhausted).
func (c *Client) Next(ctx context.Context, b *decode.Batch) error {
	c.start()
	b.Source, b.Partition = c.url, -1
	for {
		if c.fatal != nil {
			if len(b.Records) > 0 || len(b.Gaps) > 0 {
				return nil
			}
			return c.fatal
		}
		if c.pos < len(c.cur.msgs) {
			if len(b.Records) >= ingest.BatchRecords || len(b.Elems) >= ingest.BatchElems {
				return nil
			}
			m := &c.cur.msgs[c.pos]
			c.pos++
			c.handle(b, m)
			continue
		}
		if full := c.q.swap(c.cur); full != nil {
			c.cur, c.pos = full, 0
			continue
		}
		if len(b.Records) > 0 || len(b.Gaps) > 0 {
			return nil
		}
		select {
		case <-c.q.ready:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closed:
			return ErrClosed
		}
	}
}

// handle decodes one queued message or event into b.
func (c *Client) handle(b *decode.Batch, m *qmsg) {
	if ev := m.ev; ev != nil {
		if ev.fatal != nil {
			c.fatal = ev.fatal
			return
		}
		g := ev.gap
		if c.slowSeen && !errors.Is(g.Cause, ErrSlowConsumer) {
			g.Cause = fmt.Errorf("%w (%v)", ErrSlowConsumer, g.Cause)
		}
		if errors.Is(g.Cause, ErrSlowConsumer) {
			c.c.slow.Add(1)
		}
		c.slowSeen = false
		if c.last != 0 {
			g.From = time.UnixMicro(c.last)
		}
		c.flushPending(b)
		c.pending, c.pendOff = g, m.off
		return
	}
	c.line++
	n0 := len(b.Records)
	var msg []byte
	if m.bad == nil {
		msg = c.cur.data[m.start:m.end]
	}
	if se := c.rep.message(c.dec, b, msg, m.off, m.off+m.size, c.line, m.bad); se != nil && se.SlowConsumer() {
		c.slowSeen = true
	}
	if len(b.Records) > n0 {
		if g := c.pending; g != nil {
			g.To = time.UnixMicro(b.Records[n0].Time)
			b.Gaps = append(b.Gaps, decode.Gap{Start: c.pendOff, End: c.pendOff, Before: int32(n0), Err: g})
			c.pending = nil
			c.cfg.logger.Warn("RIS Live gap", "url", c.url, "from", g.From, "to", g.To, "cause", g.Cause)
		}
		c.last = b.Records[len(b.Records)-1].Time
	}
}

// flushPending adds the pending drop gap to b before anything else is
// added, even though the time of the record after it is not known yet.
func (c *Client) flushPending(b *decode.Batch) {
	if g := c.pending; g != nil {
		b.Gaps = append(b.Gaps, decode.Gap{Start: c.pendOff, End: c.pendOff, Before: int32(len(b.Records)), Err: g})
		c.pending = nil
	}
}

// conn is one connection: read puts its messages in the queue until it
// ends, and returns how many it got and why it ended.
type conn interface {
	read(ctx context.Context) (int64, error)
	close()
}

// run connects, reads, and reconnects until the client is closed.
func (c *Client) run() {
	defer close(c.done)
	log := c.cfg.logger
	var drop *GapError
	fails := 0
	for c.ctx.Err() == nil {
		cn, err := c.dial(c.ctx)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			fails++
			c.c.connectFailures.Add(1)
			var de *DialError
			if (errors.As(err, &de) && de.Permanent()) || (c.cfg.maxAttempts > 0 && fails >= c.cfg.maxAttempts) {
				log.Error("RIS Live: cannot connect; giving up", "url", c.url, "err", err, "attempts", fails)
				_ = c.q.put(c.ctx, nil, qmsg{off: c.off, ev: &event{fatal: err}})
				return
			}
			d := c.backoff(fails)
			log.Warn("RIS Live: connection failed; retrying", "url", c.url, "err", err, "attempt", fails, "retry_in", d)
			if !sleep(c.ctx, d) {
				return
			}
			continue
		}
		c.c.connects.Add(1)
		if drop != nil {
			drop.Reconnected = time.Now()
			c.c.reconnects.Add(1)
			c.c.gaps.Add(1)
			log.Warn("RIS Live: reconnected; what was sent while disconnected is lost (RIS Live cannot replay)",
				"url", c.url, "disconnected", drop.Disconnected, "cause", drop.Cause)
			if c.q.put(c.ctx, nil, qmsg{off: c.off, ev: &event{gap: drop}}) != nil {
				cn.close()
				return
			}
		} else {
			log.Info("RIS Live: connected", "url", c.url)
		}
		got, cause := cn.read(c.ctx)
		cn.close()
		if c.ctx.Err() != nil {
			return
		}
		drop = &GapError{Disconnected: time.Now(), Cause: cause}
		log.Warn("RIS Live: connection lost", "url", c.url, "cause", cause, "messages", got)
		if got > 0 {
			fails = 0
		}
		fails++
		if !sleep(c.ctx, c.backoff(fails)) {
			return
		}
	}
}

// backoff returns the delay before attempt n (1-based): min·2^(n-1),
// capped at max, with jitter in its upper half. It never exceeds max.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.minBackoff
	for i := 1; i < n && d < c.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dialTimeout bounds a websocket handshake or the wait for the firehose's
// response headers.
const dialTimeout = 30 * time.Second

func (c *Client) dial(ctx context.Context) (conn, error) {
	if c.ws {
		return c.dialWS(ctx)
	}
	return c.dialHTTP(ctx)
}

// wsConn is a websocket connection.
type wsConn struct {
	c    *Client
	conn *websocket.Conn
}

func (c *Client) dialWS(ctx context.Context) (conn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, c.url, &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		de := &DialError{URL: c.url, Err: err}
		if resp != nil {
			de.Status = resp.StatusCode
		}
		return nil, de
	}
	ws.SetReadLimit(int64(c.cfg.maxMessage))
	for _, s := range c.subs {
		m, err := s.MarshalMessage()
		if err == nil {
			err = ws.Write(dctx, websocket.MessageText, m)
		}
		if err != nil {
			ws.CloseNow()
			return nil, &DialError{URL: c.url, Err: fmt.Errorf("sending ris_subscribe: %w", err)}
		}
	}
	return &wsConn{c: c, conn: ws}, nil
}

func (w *wsConn) read(ctx context.Context) (int64, error) {
	c := w.c
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if c.cfg.pingEvery > 0 {
		go w.keepalive(cctx, cancel)
	}
	// Reads get a context that never ends, and the connection is closed
	// when cctx ends instead: websocket.Conn sets up a timer per frame for
	// a context that can end, which would cost allocations per message.
	stop := context.AfterFunc(cctx, func() { w.conn.CloseNow() })
	defer stop()
	var got int64
	for {
		_, r, err := w.conn.Reader(context.Background())
		if err == nil {
			c.wsBuf, err = readAll(r, c.wsBuf[:0])
		}
		if err != nil {
			return got, wsCause(cctx, err)
		}
		got++
		off := c.off
		c.off += int64(len(c.wsBuf)) + 1
		if err := c.q.put(ctx, c.wsBuf, qmsg{off: off, size: int64(len(c.wsBuf)) + 1}); err != nil {
			return got, err
		}
	}
}

// wsCause says why a websocket read failed.
func wsCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		return cause
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		if isSlowConsumer(ce.Reason) {
			return fmt.Errorf("%w: %q", ErrSlowConsumer, ce.Reason)
		}
		return fmt.Errorf("server closed the connection: %w", err)
	}
	return err
}

// keepalive pings every interval, and closes the connection after
// maxMissed pings in a row went unanswered.
func (w *wsConn) keepalive(ctx context.Context, cancel context.CancelCauseFunc) {
	c := w.c
	t := time.NewTicker(c.cfg.pingEvery)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, pcancel := context.WithTimeout(ctx, c.cfg.pongTimeout)
		err := w.conn.Ping(pctx)
		pcancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			missed = 0
			continue
		}
		missed++
		c.c.missedPongs.Add(1)
		if missed >= c.cfg.maxMissed {
			cancel(fmt.Errorf("%w: %d pings in a row unanswered", ErrNoPong, missed))
			w.conn.CloseNow()
			return
		}
	}
}

func (w *wsConn) close() { w.conn.CloseNow() }

// readAll appends everything r holds to dst.
func readAll(r io.Reader, dst []byte) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// httpConn is a firehose connection.
type httpConn struct {
	c      *Client
	body   io.ReadCloser
	cancel context.CancelCauseFunc
	ctx    context.Context
}

func (c *Client) dialHTTP(ctx context.Context) (conn, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, c.url, nil)
	if err != nil {
		cancel(nil)
		return nil, &DialError{URL: c.url, Err: err}
	}
	if c.hdr != "{}" { // no filter: the whole firehose
		req.Header.Set("X-RIS-Subscribe", c.hdr)
	}
	req.Header.Set("Accept", "application/x-ndjson, application/json")
	t := time.AfterFunc(dialTimeout, func() { cancel(errors.New("no response headers")) })
	resp, err := c.hc.Do(req)
	t.Stop()
	if err != nil {
		cancel(nil)
		return nil, &DialError{URL: c.url, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		cancel(nil)
		return nil, &DialError{URL: c.url, Status: resp.StatusCode, Err: fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))}
	}
	return &httpConn{c: c, body: resp.Body, cancel: cancel, ctx: cctx}, nil
}

func (h *httpConn) read(ctx context.Context) (int64, error) {
	c := h.c
	r := io.Reader(h.body)
	if c.cfg.idle > 0 {
		ir := &idleReader{r: h.body, d: c.cfg.idle}
		ir.t = time.AfterFunc(c.cfg.idle, func() { h.cancel(fmt.Errorf("%w for %v", ErrIdle, c.cfg.idle)) })
		defer ir.t.Stop()
		r = ir
	}
	sp := c.sp
	*sp = splitter{r: r, buf: sp.buf, max: sp.max}
	base := c.off
	var got int64
	for {
		l, err := sp.next()
		c.off = base + sp.off
		if err != nil {
			if cause := context.Cause(h.ctx); cause != nil && cause != context.Canceled {
				return got, cause
			}
			if err == io.EOF {
				return got, fmt.Errorf("server ended the stream: %w", io.EOF)
			}
			return got, err
		}
		got++
		if err := c.q.put(ctx, l.b, qmsg{off: base + l.off, size: l.end - l.off, bad: l.bad}); err != nil {
			return got, err
		}
	}
}

func (h *httpConn) close() {
	h.cancel(nil)
	h.body.Close()
}

// idleReader pushes back a timer on every read that returns data.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}
