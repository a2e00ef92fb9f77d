package archive

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"
)

// HTTPOptions configure how the package talks HTTP: to the brokers, to the
// archives' listings and to the dump files. The zero value is good for the
// public services.
type HTTPOptions struct {
	// Client, when set, is used as is and the transport fields below
	// (ConnectTimeout, Proxy, TLSConfig) are ignored; ReadTimeout and the
	// retry fields still apply.
	Client *http.Client
	// ConnectTimeout bounds a TCP (and TLS) connect. Default 10 s.
	ConnectTimeout time.Duration
	// ReadTimeout bounds every wait for the server: for the response
	// headers, and for each next byte of a body (an idle timeout: a slow
	// but moving download is fine). Default 30 s.
	ReadTimeout time.Duration
	// Attempts is how many times a request is tried before its error is
	// returned (1: no retry). Default 5. For a download, the count starts
	// again whenever bytes arrived since the last failure, so a long file on
	// a connection that keeps dropping still completes.
	Attempts int
	// RetryWait is the wait before the first retry; it doubles on each
	// retry up to RetryMaxWait, with ±25% jitter. Defaults 1 s and 30 s.
	RetryWait, RetryMaxWait time.Duration
	// Proxy chooses the proxy of a request. Default http.ProxyFromEnvironment:
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured, read once per
	// process. Go never proxies requests to localhost or loopback
	// addresses through the environment; a test against a loopback server
	// sets Proxy itself.
	Proxy func(*http.Request) (*url.URL, error)
	// TLSConfig for HTTPS (nil: Go's defaults and the system roots).
	TLSConfig *tls.Config
	// UserAgent is sent with every request. Default "bgp-connector-archive".
	UserAgent string
	// Logger receives a Warn line for each retry. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults validates o, naming the option in its error, and fills in
// the defaults.
func (o HTTPOptions) withDefaults(prefix string) (HTTPOptions, error) {
	var errs []error
	neg := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s.%s: negative (%s)", prefix, name, d))
		}
	}
	neg("ConnectTimeout", o.ConnectTimeout)
	neg("ReadTimeout", o.ReadTimeout)
	neg("RetryWait", o.RetryWait)
	neg("RetryMaxWait", o.RetryMaxWait)
	if o.Attempts < 0 {
		errs = append(errs, fmt.Errorf("%s.Attempts: negative (%d)", prefix, o.Attempts))
	}
	if o.RetryMaxWait > 0 && o.RetryWait > o.RetryMaxWait {
		errs = append(errs, fmt.Errorf("%s.RetryWait %s is larger than RetryMaxWait %s", prefix, o.RetryWait, o.RetryMaxWait))
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, 10*time.Second)
	def(&o.ReadTimeout, 30*time.Second)
	def(&o.RetryWait, time.Second)
	def(&o.RetryMaxWait, 30*time.Second)
	if o.RetryWait > o.RetryMaxWait {
		o.RetryMaxWait = o.RetryWait
	}
	if o.Attempts == 0 {
		o.Attempts = 5
	}
	if o.UserAgent == "" {
		o.UserAgent = "bgp-connector-archive"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		proxy := o.Proxy
		if proxy == nil {
			proxy = http.ProxyFromEnvironment
		}
		d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 proxy,
			DialContext:           d.DialContext,
			TLSClientConfig:       o.TLSConfig,
			TLSHandshakeTimeout:   o.ConnectTimeout,
			ResponseHeaderTimeout: o.ReadTimeout,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
			// The dumps are compressed already; ask for them as they are.
			DisableCompression: true,
		}}
	}
	return o, nil
}

// backoff returns the wait before retry number n (1 for the first retry).
func (o *HTTPOptions) backoff(n int) time.Duration {
	d := o.RetryWait
	for i := 1; i < n && d < o.RetryMaxWait; i++ {
		d *= 2
	}
	d = min(d, o.RetryMaxWait)
	// ±25% jitter, so that processes started together do not retry together.
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrNotPublished is matched (errors.Is) by the error of a request the
// server answered 404 Not Found: the dump or listing is not (yet)
// published. A live reader retries it later.
var ErrNotPublished = errors.New("not published (HTTP 404)")

// HTTPError is a request that failed: its URL, the byte offset reached
// (for a download), the HTTP status when there was an answer (0 for a
// network error or timeout), and the cause.
type HTTPError struct {
	URL    string
	Offset int64
	Status int
	Err    error
}

func (e *HTTPError) Error() string {
	s := "archive: " + e.URL
	if e.Offset > 0 {
		s += fmt.Sprintf(" at byte %d", e.Offset)
	}
	return s + ": " + e.Err.Error()
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help: a 4xx answer other than
// 404 (not yet published), 408 and 429.
func (e *HTTPError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusNotFound &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// statusError builds the error of a non-success answer.
func statusError(u string, resp *http.Response) error {
	err := fmt.Errorf("HTTP %s", resp.Status)
	if resp.StatusCode == http.StatusNotFound {
		err = ErrNotPublished
	}
	return &HTTPError{URL: u, Status: resp.StatusCode, Err: err}
}

// permanentError marks an answer that retrying cannot fix (an unsupported
// broker version, a malformed answer, a 4xx).
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// isPermanent reports whether err is not worth retrying.
func isPermanent(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return true
	}
	var he *HTTPError
	return errors.As(err, &he) && he.Permanent()
}

// retryable reports whether a request may be tried again after err.
func retryable(err error) bool {
	if err == nil || isPermanent(err) || errors.Is(err, ErrNotPublished) {
		return false
	}
	return true
}

// idleTimeout is the cause of a request cancelled for want of bytes.
type idleTimeout time.Duration

func (t idleTimeout) Error() string {
	return fmt.Sprintf("no data for %s (read timeout)", time.Duration(t))
}

// Timeout marks it as a timeout (net.Error style).
func (t idleTimeout) Timeout() bool { return true }

// watchdog cancels a request's context when no byte arrived for the read
// timeout. kick resets it; stop disarms it.
type watchdog struct {
	t       *time.Timer
	timeout time.Duration
}

func newWatchdog(timeout time.Duration, cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{t: time.AfterFunc(timeout, func() { cancel(idleTimeout(timeout)) }), timeout: timeout}
}

func (w *watchdog) kick() { w.t.Reset(w.timeout) }
func (w *watchdog) stop() { w.t.Stop() }

// cause turns the error of a request whose context may have been cancelled
// by its watchdog into the watchdog's timeout.
func cause(rctx context.Context, err error) error {
	if c := context.Cause(rctx); c != nil {
		var it idleTimeout
		if errors.As(c, &it) {
			return it
		}
	}
	return err
}

// getSmall GETs a small document (a broker answer, a listing) with retries
// and returns its body. The read timeout bounds every wait; 404 is returned
// at once (ErrNotPublished), other errors after o.Attempts tries.
func getSmall(ctx context.Context, o *HTTPOptions, u string, limit int64) ([]byte, error) {
	var last error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		if attempt > 1 {
			w := o.backoff(attempt - 1)
			o.Logger.Warn("archive: retrying", "url", u, "attempt", attempt, "wait", w, "err", last)
			if err := sleep(ctx, w); err != nil {
				return nil, &HTTPError{URL: u, Err: err}
			}
		}
		b, err := getOnce(ctx, o, u, limit)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, &HTTPError{URL: u, Err: ctx.Err()}
		}
		last = err
		if !retryable(err) {
			return nil, err
		}
	}
	return nil, last
}

func getOnce(ctx context.Context, o *HTTPOptions, u string, limit int64) ([]byte, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(o.ReadTimeout, cancel)
	defer wd.stop()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, permanentError{&HTTPError{URL: u, Err: err}}
	}
	req.Header.Set("User-Agent", o.UserAgent)
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, &HTTPError{URL: u, Err: cause(rctx, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A broker's error answer carries its reason in the body.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		err := statusError(u, resp)
		if len(body) > 0 && resp.StatusCode != http.StatusNotFound {
			he := err.(*HTTPError)
			he.Err = fmt.Errorf("%w: %s", he.Err, trimBody(body))
		}
		return nil, err
	}
	b, err := io.ReadAll(&kickReader{r: io.LimitReader(resp.Body, limit+1), wd: wd})
	if err != nil {
		return nil, &HTTPError{URL: u, Err: cause(rctx, err)}
	}
	if int64(len(b)) > limit {
		return nil, permanentError{&HTTPError{URL: u, Err: fmt.Errorf("answer larger than %d bytes", limit)}}
	}
	return b, nil
}

// kickReader kicks a watchdog whenever bytes arrive.
type kickReader struct {
	r  io.Reader
	wd *watchdog
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.wd.kick()
	}
	return n, err
}

// trimBody shortens an error body for a message.
func trimBody(b []byte) string {
	const max = 300
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// checkHTTPURL validates an option holding an http(s) base URL.
func checkHTTPURL(option, s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL", option, s)
	}
	return nil
}
