package connector

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ClientOpts returns the franz-go options every client of the connector
// shares: seed brokers, TLS and SASL. brokers overrides the configured
// seeds (the embedded broker's address).
func ClientOpts(c *Config, brokers []string, log *slog.Logger) ([]kgo.Opt, error) {
	if len(brokers) == 0 {
		brokers = c.BootstrapServers
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(c.Name)}
	if log != nil {
		opts = append(opts, kgo.WithLogger(slogLogger{log}))
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

// slogLogger adapts slog to franz-go's Logger, at warn level and above so
// that the client's chatter stays out of the connector's log.
type slogLogger struct{ l *slog.Logger }

// Level is franz-go's Logger.Level.
func (s slogLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

// Log is franz-go's Logger.Log.
func (s slogLogger) Log(level kgo.LogLevel, msg string, kv ...any) {
	switch level {
	case kgo.LogLevelError:
		s.l.Error("kafka: "+msg, kv...)
	case kgo.LogLevelWarn:
		s.l.Warn("kafka: "+msg, kv...)
	}
}
