package connector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"
)

// ClientOpts returns the franz-go options every client of the connector
// shares: seed brokers, TLS and SASL. brokers overrides the configured
// seeds (the embedded broker's address). With a logger, franz-go logs
// through it (kslog), warnings and errors only unless log is at debug level.
func ClientOpts(c *Config, brokers []string, log *slog.Logger) ([]kgo.Opt, error) {
	if len(brokers) == 0 {
		brokers = c.BootstrapServers
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(c.Name)}
	if log != nil {
		opts = append(opts, kgo.WithLogger(kslog.New(kafkaLogger(log))))
	}
	if c.SecurityProtocol == "SSL" || c.SecurityProtocol == "SASL_SSL" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.SSLCALocation != "" {
			pem, err := os.ReadFile(c.SSLCALocation)
			if err != nil {
				return nil, fmt.Errorf("ssl.ca.location: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ssl.ca.location: %s holds no PEM certificate", c.SSLCALocation)
			}
		}
		if c.SSLCertLocation != "" {
			cert, err := tls.LoadX509KeyPair(c.SSLCertLocation, c.SSLKeyLocation)
			if err != nil {
				return nil, fmt.Errorf("ssl.certificate.location/ssl.key.location: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SecurityProtocol == "SASL_PLAINTEXT" || c.SecurityProtocol == "SASL_SSL" {
		switch c.SASLMechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

// kafkaLogger returns the logger franz-go logs to: log with a
// component=kafka attribute, at warn level and above (franz-go's info lines
// describe every group and connection step), at info and above when log is
// at debug level.
func kafkaLogger(log *slog.Logger) *slog.Logger {
	floor := slog.LevelWarn
	if log.Enabled(context.Background(), slog.LevelDebug) {
		floor = slog.LevelInfo
	}
	return slog.New(levelFloor{log.Handler(), floor}).With("component", "kafka")
}

// levelFloor is a slog.Handler that drops records below a level.
type levelFloor struct {
	slog.Handler
	floor slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.floor}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.floor}
}

// connectTimeout bounds the first contact with Kafka (checkKafka).
const connectTimeout = 15 * time.Second

// checkKafka contacts the brokers once with the connector's security
// settings before any long-lived client starts, and turns a failure into one
// line naming bootstrap.servers, the security protocol and, for SASL, the
// mechanism and user. franz-go retries connection failures in the
// background for as long as a client lives; a rejected password or an
// untrusted certificate never heals by retrying, so the first one seen (by a
// hook on the handshake and SASL exchanges) ends the check at once.
func checkKafka(ctx context.Context, cfg *Config, brokers []string) error {
	opts, err := ClientOpts(cfg, brokers, nil)
	if err != nil {
		return err
	}
	h := &firstContact{failed: make(chan struct{})}
	cl, err := kgo.NewClient(append(opts, kgo.WithHooks(h))...)
	if err != nil {
		return fmt.Errorf("kafka client for bootstrap.servers=%s: %w", strings.Join(brokers, ","), err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	go func() {
		select {
		case <-h.failed:
			cancel()
		case <-pctx.Done():
		}
	}()
	err = cl.Ping(pctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if herr := h.cause(); herr != nil {
		err = herr
	}
	return describeKafkaErr(cfg, brokers, err)
}

// describeKafkaErr returns err as one line saying what failed and which
// settings are involved.
func describeKafkaErr(cfg *Config, brokers []string, err error) error {
	servers := strings.Join(brokers, ",")
	sasl := strings.HasPrefix(cfg.SecurityProtocol, "SASL_")
	var sr *saslRejected
	switch {
	case sasl && (errors.As(err, &sr) || errors.Is(err, kerr.SaslAuthenticationFailed) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism) || errors.Is(err, kerr.IllegalSaslState)):
		return fmt.Errorf("Kafka at bootstrap.servers=%s rejected SASL %s authentication as user %q (security.protocol=%s): check sasl.mechanism, sasl.username and sasl.password: %w",
			servers, cfg.SASLMechanism, cfg.SASLUsername, cfg.SecurityProtocol, err)
	case isTLSError(err):
		ca := cfg.SSLCALocation
		if ca == "" {
			ca = "(system pool)"
		}
		return fmt.Errorf("TLS with Kafka at bootstrap.servers=%s failed (security.protocol=%s, ssl.ca.location=%s): %w",
			servers, cfg.SecurityProtocol, ca, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach Kafka at bootstrap.servers=%s (security.protocol=%s): no broker answered within %v", servers, cfg.SecurityProtocol, connectTimeout)
	}
	return fmt.Errorf("cannot reach Kafka at bootstrap.servers=%s (security.protocol=%s): %w", servers, cfg.SecurityProtocol, err)
}

func isTLSError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve) ||
		errors.As(err, &rhe) || errors.As(err, &ae)
}

// saslRejected is a connection the broker closed during the SASL exchange:
// brokers that do not answer a failed authentication with an error code
// (kfake, some proxies) drop the connection instead.
type saslRejected struct{ err error }

func (e *saslRejected) Error() string {
	return "the broker closed the connection during SASL authentication (" + e.err.Error() + ")"
}

func (e *saslRejected) Unwrap() error { return e.err }

// firstContact is the kgo hook of checkKafka: it records the first TLS
// handshake failure or SASL exchange failure and closes failed.
type firstContact struct {
	once   sync.Once
	mu     sync.Mutex
	err    error
	failed chan struct{}
}

func (h *firstContact) fail(err error) {
	h.once.Do(func() {
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		close(h.failed)
	})
}

func (h *firstContact) cause() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// OnBrokerConnect is kgo.HookBrokerConnect: TLS verification failures.
func (h *firstContact) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && isTLSError(err) {
		h.fail(err)
	}
}

// OnBrokerRead is kgo.HookBrokerRead: a failed read of a SASLHandshake (17)
// or SASLAuthenticate (36) response.
func (h *firstContact) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && (key == 17 || key == 36) {
		h.fail(&saslRejected{err})
	}
}
