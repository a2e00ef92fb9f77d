package rislivetest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// SlowConsumerMessage is the text RIS Live sends before it closes the
// connection of a client that fell behind (pybgpstream issue #59).
const SlowConsumerMessage = "Closing connection after being behind by more than 134217728 bytes over 10 s"

// EventKind is what the fake server does at a line.
type EventKind uint8

const (
	// Drop closes the connection abruptly (no close frame, no end of the
	// HTTP body) before the line.
	Drop EventKind = iota + 1
	// DropMidLine sends the first half of the line, then drops (the
	// firehose; on the websocket it is a Drop).
	DropMidLine
	// SlowConsumer sends RIS Live's ris_error for a client that fell
	// behind, then closes the connection.
	SlowConsumer
	// SlowConsumerCloseFrame closes the websocket with the slow-consumer
	// text as the close reason, without a ris_error (on the firehose it is
	// a SlowConsumer).
	SlowConsumerCloseFrame
	// Stall makes the connection go silent and stop answering pings (a
	// dead peer) while staying open; the next connection goes on.
	Stall
)

// Event is something the server does when it reaches line At of its
// stream, once. Skip lines from At on are then never sent (RIS Live does
// not replay what it sent while the client was away): the next connection
// goes on from At+Skip.
type Event struct {
	At   int
	Kind EventKind
	Skip int
}

// Cut is a range [From, To) of lines that a connection end kept from the
// client.
type Cut struct{ From, To int }

// Subscribed is what one connection asked for: the ?client= name and the
// ris_subscribe data (websocket messages, or the firehose's X-RIS-Subscribe
// header), as raw JSON.
type Subscribed struct {
	Client    string
	Firehose  bool
	Subscribe []json.RawMessage
}

// Server is a fake RIS Live: an httptest server with the websocket API at
// /v1/ws/ and the firehose at /v1/stream/, replaying Lines as one live feed
// shared by its connections (a reconnecting client goes on where the feed
// is, not where it left). After the last line a connection stays open and
// idle. Configure it before the first connection.
type Server struct {
	*httptest.Server

	// Lines are the messages to send, without newlines.
	Lines [][]byte
	// Events happen at their lines.
	Events []Event
	// IgnorePings makes the websocket answer no ping.
	IgnorePings bool
	// Reject refuses that many connection attempts with Status (default
	// 503) before accepting.
	Reject int
	Status int
	// WaitSubscribe holds a websocket connection's stream until the first
	// ris_subscribe arrives (or this long passes).
	WaitSubscribe time.Duration

	mu       sync.Mutex
	pos      int
	done     map[int]bool
	cuts     []Cut
	subs     []Subscribed
	attempts []time.Time
	conns    int
	drained  chan struct{}
	ctx      context.Context
	stop     context.CancelFunc
}

// NewServer starts a fake RIS Live replaying lines; Close it when done.
func NewServer(lines [][]byte) *Server {
	s := &Server{Lines: lines, done: map[int]bool{}, drained: make(chan struct{}), WaitSubscribe: 2 * time.Second}
	s.ctx, s.stop = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/ws/", s.serveWS)
	mux.HandleFunc("/v1/stream/", s.serveFirehose)
	s.Server = httptest.NewServer(mux)
	return s
}

// Close stops the server and every connection.
func (s *Server) Close() {
	s.stop()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// WSURL returns the websocket API's URL (ws://.../v1/ws/).
func (s *Server) WSURL() string { return "ws" + s.URL[len("http"):] + "/v1/ws/" }

// FirehoseURL returns the firehose's URL (http://.../v1/stream/?format=json).
func (s *Server) FirehoseURL() string { return s.URL + "/v1/stream/?format=json" }

// Drained is closed once the last line was sent.
func (s *Server) Drained() <-chan struct{} { return s.drained }

// Cuts returns the ranges of lines no client received because of events.
func (s *Server) Cuts() []Cut {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Cut(nil), s.cuts...)
}

// Subscriptions returns what each connection asked for, in order.
func (s *Server) Subscriptions() []Subscribed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Subscribed(nil), s.subs...)
}

// Attempts returns the times of the connection attempts (refused ones
// included).
func (s *Server) Attempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.attempts...)
}

// Connections returns the number of connections accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// admit records an attempt and says whether to accept it.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, time.Now())
	if s.Reject > 0 {
		s.Reject--
		st := s.Status
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		http.Error(w, "fake RIS Live: refused", st)
		return 0, false
	}
	s.conns++
	s.subs = append(s.subs, Subscribed{Client: r.URL.Query().Get("client")})
	return len(s.subs) - 1, true
}

func (s *Server) addSubscribe(i int, data json.RawMessage, firehose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[i].Firehose = firehose
	s.subs[i].Subscribe = append(s.subs[i].Subscribe, data)
}

// next returns the next line to send and the event at it, if any.
func (s *Server) next() (line []byte, ev *Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.Events {
		e := &s.Events[i]
		if e.At == s.pos && !s.done[i] {
			s.done[i] = true
			return nil, e, true
		}
	}
	if s.pos >= len(s.Lines) {
		return nil, nil, false
	}
	line = s.Lines[s.pos]
	s.pos++
	if s.pos == len(s.Lines) {
		close(s.drained)
	}
	return line, nil, true
}

// cut skips the lines an event kept from the client.
func (s *Server) cut(e *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.pos
	s.pos = min(s.pos+e.Skip, len(s.Lines))
	if s.pos > from {
		s.cuts = append(s.cuts, Cut{From: from, To: s.pos})
		if s.pos == len(s.Lines) {
			close(s.drained)
		}
	}
}

var newline = []byte{'\n'}

// errorLine is a ris_error message.
func errorLine(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "ris_error", "data": map[string]string{"message": msg}})
	return b
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	idx, ok := s.admit(w, r)
	if !ok {
		return
	}
	var dead atomic.Bool
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OnPingReceived: func(context.Context, []byte) bool { return !s.IgnorePings && !dead.Load() },
	})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	subscribed := make(chan struct{})
	go func() {
		defer cancel()
		once := sync.Once{}
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(msg, &m) == nil && m.Type == "ris_subscribe" {
				s.addSubscribe(idx, m.Data, false)
				once.Do(func() { close(subscribed) })
			}
		}
	}()
	select {
	case <-subscribed:
	case <-time.After(s.WaitSubscribe):
	case <-ctx.Done():
		return
	}
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	defer stop()
	for {
		line, ev, ok := s.next()
		if !ok {
			<-ctx.Done() // idle at the end of the feed
			return
		}
		if ev != nil {
			switch ev.Kind {
			case SlowConsumer:
				_ = c.Write(ctx, websocket.MessageText, errorLine(SlowConsumerMessage))
				s.cut(ev)
				c.Close(websocket.StatusNormalClosure, "")
			case SlowConsumerCloseFrame:
				s.cut(ev)
				c.Close(websocket.StatusPolicyViolation, SlowConsumerMessage)
			case Stall:
				dead.Store(true)
				s.cut(ev)
				<-ctx.Done()
			default:
				s.cut(ev)
			}
			return // deferred CloseNow drops the connection
		}
		// (context.Background: a Write with a context that can end costs
		// a timer per message; the connection is closed when ctx ends.)
		if err := c.Write(context.Background(), websocket.MessageText, line); err != nil {
			return
		}
	}
}

func (s *Server) serveFirehose(w http.ResponseWriter, r *http.Request) {
	idx, ok := s.admit(w, r)
	if !ok {
		return
	}
	if h := r.Header.Get("X-RIS-Subscribe"); h != "" {
		s.addSubscribe(idx, json.RawMessage(h), true)
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.ctx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	n := 0
	for {
		line, ev, ok := s.next()
		if !ok {
			_ = rc.Flush()
			<-ctx.Done()
			return
		}
		if ev != nil {
			switch ev.Kind {
			case SlowConsumer, SlowConsumerCloseFrame:
				w.Write(append(errorLine(SlowConsumerMessage), '\n'))
				s.cut(ev)
				_ = rc.Flush()
				return // a clean end of the body
			case Stall:
				s.cut(ev)
				_ = rc.Flush()
				<-ctx.Done()
				return
			case DropMidLine:
				s.mu.Lock()
				if s.pos < len(s.Lines) {
					l := s.Lines[s.pos]
					w.Write(l[:len(l)/2])
				}
				s.mu.Unlock()
			}
			s.cut(ev)
			_ = rc.Flush()
			panic(http.ErrAbortHandler) // drop the connection without ending the body
		}
		// (line may share its array with the next line: never append to it)
		if _, err := w.Write(line); err != nil {
			return
		}
		if _, err := w.Write(newline); err != nil {
			return
		}
		if n++; n%64 == 0 {
			if rc.Flush() != nil {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}
