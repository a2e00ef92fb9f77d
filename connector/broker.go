package connector

import (
	"context"
	"log/slog"
)

// InMemoryNote is what the embedded broker says about its storage wherever
// it starts on its own (the broker command's log and help, the README).
const InMemoryNote = "the embedded broker keeps every topic, record and committed offset in memory: all of it is lost when the process exits"

// BrokerOptions configure ServeBroker.
type BrokerOptions struct {
	// Port is the fixed port on 127.0.0.1 (0 = any free port).
	Port int
	// Partitions is the partition count of the topics it creates.
	Partitions int
	// Topics are created at start (consumers do not create topics).
	Topics []string
	// Log receives the startup and shutdown lines.
	Log *slog.Logger
	// Listening, if set, is called with the address once the broker
	// accepts connections.
	Listening func(addr string)
}

// ServeBroker hosts the embedded kfake broker on its own until ctx ends, so
// that connectors (bootstrap.servers=127.0.0.1:PORT) can stop and restart
// against it and find their topics and committed offsets. Nothing is
// written to disk: see [InMemoryNote].
func ServeBroker(ctx context.Context, o BrokerOptions) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Partitions < 1 {
		o.Partitions = 1
	}
	cl, addr, err := StartEmbedded(o.Port, o.Partitions, o.Topics...)
	if err != nil {
		return err
	}
	defer cl.Close()
	o.Log.Info("embedded Kafka broker listening", "addr", addr, "topics", o.Topics, "partitions", o.Partitions,
		"connect", "bootstrap.servers="+addr, "try", "kcat -b "+addr+" -L")
	o.Log.Warn("in memory only: " + InMemoryNote)
	if o.Listening != nil {
		o.Listening(addr)
	}
	<-ctx.Done()
	o.Log.Info("embedded Kafka broker stopped; its topics, records and offsets are gone", "addr", addr)
	return nil
}
