// Package bmptcp is a BMP collector's TCP side: it accepts BMP sessions
// from routers (RFC 7854 §3.2: the router connects to the monitoring
// station), frames each session's byte stream into BMP messages with
// [openbmp.StreamReader] (skipping and counting damaged bytes rather than
// dropping the session), wraps every message in the OpenBMP v1.7 binary
// header as OpenBMP's collector does, and hands it to a [Producer] keyed by
// router hash.
//
// Flow control is the TCP connection's: each session is read by one
// goroutine that calls the Producer synchronously, so a Producer that blocks
// (a Kafka producer whose buffer is full) stops the reads of that socket,
// the kernel's receive window closes and the router's writes block. Memory
// does not grow with the backlog: per session it is the framing buffer
// (64 KiB, more only for a larger message) and the message in hand. A
// session that sends 17 MiB without a valid message is closed, so that
// resynchronising over garbage holds at most 32 MiB.
//
// It is not a Kafka producer (package connector publishes the messages) and
// it does not decode BMP beyond its framing (package openbmp does, on the
// consumer side). It sends nothing to routers: BMP is one-way.
package bmptcp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgp-connector/bgp-connector/openbmp"
)

// Message is one BMP message of a router session, wrapped for
// openbmp.bmp_raw.
type Message struct {
	// Key is the Kafka key: the router hash in lower-case hex (32 bytes),
	// as OpenBMP's collector keys bmp_raw (obmp-collector
	// MsgBusImpl_kafka.cpp send_bmp_raw produces with key r_hash_str; the
	// v2-beta rewrite uses the 16 raw bytes). It is shared by every message
	// of the session: do not modify it.
	Key []byte
	// Value is the OpenBMP v1.7 header followed by the BMP message. It is
	// freshly allocated for each message and belongs to the Producer.
	Value []byte
	// HeaderLen is the length of the OpenBMP header: the BMP message is
	// Value[HeaderLen:].
	HeaderLen int
	// Router is the router's address (the session's remote address).
	Router netip.Addr
	// Offset is the message's byte offset in the session's stream.
	Offset int64
	// Abort closes the session with err: for a delivery failure learnt
	// after the Producer returned (an asynchronous produce), so that the
	// router reconnects and sends its state again rather than going on
	// over a hole. Safe to call from any goroutine, any number of times.
	Abort func(err error)
}

// BMP returns the BMP message: Value without the OpenBMP header.
func (m *Message) BMP() []byte { return m.Value[m.HeaderLen:] }

// Producer receives each message in the order the router sent it, from the
// goroutine reading that router's session (so calls for different routers
// run concurrently). It may block: while it does, that session's socket is
// not read. A nil error means the message is taken; an error wrapping
// [ErrSkip] drops this message only (counted as Dropped); any other error
// ends the session (the router reconnects and starts a new one). ctx ends
// only when a stop's drain timeout passes.
type Producer func(ctx context.Context, m Message) error

// ErrSkip, wrapped in a Producer's error, drops one message but keeps the
// session (e.g. a message larger than the broker accepts).
var ErrSkip = errors.New("message skipped")

// Config configures a Server.
type Config struct {
	// AdminID is the collector admin id written in every header
	// (libbgpstream's "collector"); its MD5 is the collector hash.
	AdminID string
	// RouterGroup is the router group written in every header
	// (libbgpstream's "router"); may be empty.
	RouterGroup string
	// RouterHash computes a router's hash from its address. Default
	// [RouterHash]; [OpenBMPRouterHash] for OpenBMP's exact (colliding)
	// hash.
	RouterHash func(netip.Addr) [16]byte
	// Produce receives every message. Required.
	Produce Producer
	// Flush, if set, is called once on stop after every session finished
	// the messages it had read, before the sockets are closed.
	Flush func(ctx context.Context) error
	// DrainTimeout bounds a stop: producing the messages in hand and Flush.
	// Default 30 s.
	DrainTimeout time.Duration
	// Log receives session events. Default slog.Default().
	Log *slog.Logger
}

// RouterStats are one router's counters, over all its sessions since the
// server started.
type RouterStats struct {
	// Router is the router's address; Hash its router hash and Key the hex
	// Kafka key.
	Router netip.Addr
	Hash   [16]byte
	Key    string
	// Connected says a session is open; Remote is the address and port of
	// the current (or last) session, ConnectedAt when it was accepted.
	Connected   bool
	Remote      netip.AddrPort
	ConnectedAt time.Time
	// Sessions counts the connections accepted from the router.
	Sessions uint64
	// Messages and Bytes count the BMP messages handed to the Producer and
	// their bytes (without the OpenBMP header); Read counts the bytes read
	// from the sockets.
	Messages, Bytes, Read uint64
	// Damaged counts framing errors; Skipped the bytes passed over to
	// resynchronise after them.
	Damaged, Skipped uint64
	// Cut counts the bytes of messages a session's end cut short.
	Cut uint64
	// Dropped counts messages the Producer skipped ([ErrSkip]).
	Dropped uint64
	// LastSeen is when the last message arrived.
	LastSeen time.Time
	// LastError is why the last session ended ("" for a clean close).
	LastError string
}

// Server accepts router sessions. Create it with NewServer and run it with
// Serve; Routers may be called at any time.
type Server struct {
	cfg       Config
	collector [16]byte

	mu      sync.Mutex
	routers map[netip.Addr]*router
	conns   map[*conn]struct{}
	stopped bool
}

// router is the state kept per router address across sessions.
type router struct {
	addr netip.Addr
	hash [16]byte
	key  []byte

	messages, bytes, read atomic.Uint64
	damaged, skipped, cut atomic.Uint64
	dropped, sessions     atomic.Uint64
	lastSeen              atomic.Int64 // unix ns
	mu                    sync.Mutex   // guards the fields below
	current               *conn
	remote                netip.AddrPort
	connectedAt           time.Time
	lastErr               string
}

// NewServer returns a Server for cfg. It listens on nothing yet.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Produce == nil {
		return nil, errors.New("bmptcp: Config.Produce is required")
	}
	if cfg.RouterHash == nil {
		cfg.RouterHash = RouterHash
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.AdminID) > 0xffff || len(cfg.RouterGroup) > 0xffff {
		return nil, errors.New("bmptcp: admin id and router group must be shorter than 64 KiB")
	}
	return &Server{cfg: cfg, collector: CollectorHash(cfg.AdminID), routers: map[netip.Addr]*router{}, conns: map[*conn]struct{}{}}, nil
}

// CollectorHash returns the collector hash written in every header.
func (s *Server) CollectorHash() [16]byte { return s.collector }

// ListenAndServe listens on addr ("host:port"; ":5000" is every address)
// and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bmptcp: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts sessions on ln until ctx ends, then stops gracefully: it
// closes ln, stops reading every socket, produces the messages already
// read (a message cut by the stop is counted as Cut), calls Flush, and only
// then closes the sockets. A failing Accept (no file descriptors left) is
// logged and retried with backoff. Closing ln stops the server as ctx does.
// It returns nil, or the error of Flush. A Server serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	prodCtx, cancelProd := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProd()
	var wg sync.WaitGroup
	acceptErr := make(chan error, 1)
	go func() {
		var backoff time.Duration
		for {
			nc, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
					acceptErr <- err
					return
				}
				// Out of file descriptors, say: wait and retry, as
				// net/http does, rather than stop collecting.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Log.Warn("bmp collector: accept failed; retrying", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			c := s.newConn(nc)
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.run(prodCtx, c)
			}()
		}
	}()
	var err error
	select {
	case <-ctx.Done():
		ln.Close()
		<-acceptErr
	case err = <-acceptErr:
		ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		} else {
			err = fmt.Errorf("bmptcp: accept on %s: %w", ln.Addr(), err)
		}
	}

	// Stop: no new sessions; every session stops reading and finishes the
	// messages it holds.
	start := time.Now()
	deadline := time.AfterFunc(s.cfg.DrainTimeout, cancelProd)
	defer deadline.Stop()
	s.mu.Lock()
	s.stopped = true
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.stop()
	}
	wg.Wait()
	if s.cfg.Flush != nil {
		if ferr := s.cfg.Flush(prodCtx); ferr != nil {
			s.cfg.Log.Warn("bmp collector: flush on stop", "err", ferr)
			err = errors.Join(err, fmt.Errorf("bmptcp: flush: %w", ferr))
		}
	}
	for _, c := range open {
		c.nc.Close()
	}
	s.cfg.Log.Info("bmp collector stopped", "sessions_closed", len(open), "drain", time.Since(start).Round(time.Millisecond))
	return err
}

// Routers returns every router's counters, sorted by address.
func (s *Server) Routers() []RouterStats {
	s.mu.Lock()
	rs := make([]*router, 0, len(s.routers))
	for _, r := range s.routers {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	out := make([]RouterStats, 0, len(rs))
	for _, r := range rs {
		st := RouterStats{
			Router: r.addr, Hash: r.hash, Key: string(r.key),
			Sessions: r.sessions.Load(), Messages: r.messages.Load(), Bytes: r.bytes.Load(), Read: r.read.Load(),
			Damaged: r.damaged.Load(), Skipped: r.skipped.Load(), Cut: r.cut.Load(), Dropped: r.dropped.Load(),
		}
		if ns := r.lastSeen.Load(); ns != 0 {
			st.LastSeen = time.Unix(0, ns)
		}
		r.mu.Lock()
		st.Connected, st.Remote, st.ConnectedAt, st.LastError = r.current != nil, r.remote, r.connectedAt, r.lastErr
		r.mu.Unlock()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Router.Less(out[j].Router) })
	return out
}

// Router returns the counters of one router, and false if it never
// connected.
func (s *Server) Router(addr netip.Addr) (RouterStats, bool) {
	for _, r := range s.Routers() {
		if r.Router == addr.Unmap() {
			return r, true
		}
	}
	return RouterStats{}, false
}

// conn is one router session.
type conn struct {
	nc        net.Conn
	lastRead  atomic.Int64 // unix ns of the last read that returned data
	producing atomic.Bool  // in a Producer call
	// queued: waiting for the router's previous session to end before
	// reading (not idle: its data waits in the socket).
	queued   atomic.Bool
	r        *router
	remote   netip.AddrPort
	stopping atomic.Bool
	done     chan struct{}
	abortMu  sync.Mutex
	abortErr error
}

// stop makes the session's reads end (the reader sees the end of the
// stream) without closing the socket.
func (c *conn) stop() {
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// abort ends the session with err.
func (c *conn) abort(err error) {
	c.abortMu.Lock()
	if c.abortErr == nil {
		c.abortErr = err
	}
	c.abortMu.Unlock()
	c.nc.Close()
}

func (c *conn) aborted() error {
	c.abortMu.Lock()
	defer c.abortMu.Unlock()
	return c.abortErr
}

// newConn registers an accepted connection, or closes it when the server
// is stopping.
func (s *Server) newConn(nc net.Conn) *conn {
	ap, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		s.cfg.Log.Warn("bmp collector: connection from an address that is not IP; closed", "remote", nc.RemoteAddr().String())
		nc.Close()
		return nil
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetKeepAlivePeriod(30 * time.Second)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		nc.Close()
		return nil
	}
	r := s.routers[ap.Addr()]
	if r == nil {
		h := s.cfg.RouterHash(ap.Addr())
		r = &router{addr: ap.Addr(), hash: h, key: []byte(hex.EncodeToString(h[:]))}
		s.routers[ap.Addr()] = r
	}
	c := &conn{nc: nc, r: r, remote: ap, done: make(chan struct{})}
	c.lastRead.Store(time.Now().UnixNano())
	s.conns[c] = struct{}{}
	return c
}

// replaceIdle is how long an old session of a reconnected router may stay
// idle before it is closed.
const replaceIdle = time.Second

// maxNoFrame is how many bytes a session may send without one valid BMP
// message before it is closed as not BMP at all: a bound on the framing
// buffer while resynchronising.
const maxNoFrame = openbmp.MaxFrame + 1<<20

// sockReader counts the bytes read, turns the stop's read deadline into
// the end of the stream, and bounds the bytes read without a frame.
type sockReader struct {
	c       *conn
	n       int64 // bytes read in this session
	noFrame int
	err     error // why reading was cut short by the reader itself
}

func (sr *sockReader) Read(p []byte) (int, error) {
	if sr.err != nil {
		return 0, sr.err
	}
	if budget := maxNoFrame - sr.noFrame + 1; len(p) > budget {
		p = p[:max(budget, 1)]
	}
	n, err := sr.c.nc.Read(p)
	if n > 0 {
		sr.c.lastRead.Store(time.Now().UnixNano())
	}
	sr.n += int64(n)
	sr.c.r.read.Add(uint64(n))
	sr.noFrame += n
	if err != nil {
		var ne net.Error
		if sr.c.stopping.Load() && errors.As(err, &ne) && ne.Timeout() {
			err = io.EOF
		}
		return n, err
	}
	if sr.noFrame > maxNoFrame {
		sr.err = fmt.Errorf("no valid BMP message in %d bytes: not a BMP stream", sr.noFrame)
		return n, sr.err
	}
	return n, nil
}

// run reads one session to its end.
func (s *Server) run(ctx context.Context, c *conn) {
	r := c.r
	log := s.cfg.Log.With("router", r.addr.String(), "remote", c.remote.String())

	// A router reconnecting while its old session is still open replaces
	// it once the old one has ended: the two never interleave on the
	// router's key. An old session still delivering (the tail of what the
	// router sent before it reconnected) is read to its end; one that
	// stays idle for a second, neither reading nor waiting on the Producer
	// (a half-open connection after a reboot, say), is closed. One still
	// queued behind its own predecessor is not idle: a router reconnecting
	// several times in a row while the collector is busy keeps every
	// session's data, in order.
	r.mu.Lock()
	old := r.current
	r.current, r.remote, r.connectedAt = c, c.remote, time.Now()
	r.mu.Unlock()
	if old != nil {
		c.queued.Store(true)
		log.Warn("bmp collector: router reconnected while its previous session was open; the previous one ends first", "previous", old.remote.String())
		tick := time.NewTicker(replaceIdle)
	wait:
		for {
			select {
			case <-old.done:
				break wait
			case <-tick.C:
				if !old.producing.Load() && !old.queued.Load() && time.Since(time.Unix(0, old.lastRead.Load())) >= replaceIdle {
					old.abort(errors.New("replaced by a new session from the same router"))
					<-old.done
					break wait
				}
			}
		}
		tick.Stop()
		c.lastRead.Store(time.Now().UnixNano()) // idle from now on, not from the connect
		c.queued.Store(false)
	}
	r.sessions.Add(1)
	log.Info("bmp router connected", "router_hash", string(r.key), "session", r.sessions.Load())

	rd := &sockReader{c: c}
	sr := openbmp.NewStreamReader(rd, openbmp.KindBMP)
	h := openbmp.Header{
		ObjectType:    openbmp.ObjectBMPRaw,
		Flags:         openbmp.FlagRouterMessage,
		CollectorHash: s.collector,
		AdminID:       s.cfg.AdminID,
		RouterHash:    r.hash,
		RouterIP:      r.addr,
		RouterGroup:   s.cfg.RouterGroup,
		RowCount:      1,
	}
	hl := h.Len()
	abort := c.abort // one method value per session, not per message
	var (
		msgs, damaged, skipped int64
		endErr                 error
		lastErr                error
	)
	for {
		f, err := sr.Next()
		if sk := sr.Skipped(); sk != skipped {
			r.skipped.Add(uint64(sk - skipped))
			skipped = sk
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			if errors.Is(err, openbmp.ErrTruncated) {
				// The stream ended inside a message: the router closed or
				// the stop cut it.
				endErr = err
				break
			}
			if msgs == 0 && damaged == 0 && errors.Is(err, openbmp.ErrVersion) {
				// The first bytes are not BMP v3: the peer speaks
				// something else (a file would be resynchronised; a
				// connection is closed with the reason).
				endErr = err
				break
			}
			if err != lastErr && (errors.Is(err, openbmp.ErrMalformed) || errors.Is(err, openbmp.ErrVersion)) {
				// A framing error: the next call resynchronises.
				lastErr = err
				damaged++
				r.damaged.Add(1)
				if damaged <= 10 {
					log.Warn("bmp collector: damaged BMP stream; skipping to the next valid message", "err", err)
				}
				continue
			}
			endErr = err
			break
		}
		lastErr = nil
		rd.noFrame = 0
		now := time.Now()
		h.CollectedAt = now.UnixMicro()
		m := Message{
			Key: r.key, HeaderLen: hl, Router: r.addr, Offset: sr.Offset(), Abort: abort,
			Value: h.AppendTo(make([]byte, 0, hl+len(f)), f),
		}
		c.producing.Store(true)
		perr := s.cfg.Produce(ctx, m)
		c.producing.Store(false)
		if perr != nil {
			if errors.Is(perr, ErrSkip) {
				r.dropped.Add(1)
				log.Warn("bmp collector: message not published", "offset", m.Offset, "len", len(f), "err", perr)
				continue
			}
			endErr = fmt.Errorf("producing the message at offset %d: %w", m.Offset, perr)
			break
		}
		msgs++
		r.messages.Add(1)
		r.bytes.Add(uint64(len(f)))
		r.lastSeen.Store(now.UnixNano())
	}
	stopping := c.stopping.Load()
	var cut int64
	if errors.Is(endErr, openbmp.ErrTruncated) {
		// Bytes after the last whole message: what the session read minus
		// where the cut message starts (both count from the session's
		// first byte).
		var de *openbmp.DecodeError
		if errors.As(endErr, &de) {
			cut = max(0, rd.n-int64(de.Offset))
			r.cut.Add(uint64(cut))
		}
		if stopping {
			endErr = nil // the stop cut it, not the router
		}
	}
	if a := c.aborted(); a != nil {
		endErr = a
	} else if rd.err != nil {
		endErr = rd.err
	}
	if !stopping {
		c.nc.Close()
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	r.mu.Lock()
	if r.current == c {
		r.current = nil
	}
	r.lastErr = ""
	if endErr != nil {
		r.lastErr = endErr.Error()
	}
	r.mu.Unlock()
	close(c.done)
	attrs := []any{"messages", msgs, "damaged", damaged, "skipped_bytes", skipped, "cut_bytes", cut}
	switch {
	case endErr == nil && stopping:
		log.Info("bmp router session stopped by the collector", attrs...)
	case endErr == nil:
		log.Info("bmp router disconnected", attrs...)
	default:
		log.Warn("bmp router session ended", append(attrs, "err", endErr)...)
	}
}
