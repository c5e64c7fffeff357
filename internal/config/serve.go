package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mailsift/mailsift/internal/milter"
	"github.com/mailsift/mailsift/internal/server"
	"github.com/mailsift/mailsift/internal/sink"
)

// Serve is the service's part of the configuration (mailsift serve).
type Serve struct {
	// The HTTP API.
	HTTP server.Config `yaml:"http"`
	// The milter, for Postfix and Sendmail.
	Milter milter.Config `yaml:"milter"`
	// The milter runs the whole analysis on each message: its report goes
	// to the sinks and its phishing verdict can quarantine. Off, the
	// milter asks the spam filter alone.
	MilterAnalysis bool `yaml:"milter_analysis"`
	// Where the reports of the analysed mails go, several at once: the
	// destinations analyze --out takes ("-", "jsonl:PATH?max_size=100MB",
	// "dir:PATH", "esbulk:PATH"), "redis://HOST:PORT/DB?key=NAME&mode=list"
	// and "es+http://HOST:9200" (Elasticsearch or OpenSearch). Empty
	// keeps no reports.
	Sinks []string `yaml:"sinks"`
	// The queue in front of each sink: its size, batches and retries.
	Queue sink.QueueOptions `yaml:"queue"`
	// The mail queue on NATS JetStream (see nats): "" keeps it out;
	// "connect" sends the milter's mails through the queue at nats.url
	// for the workers to analyse, the milter itself asking the spam
	// filter alone; "embedded" also runs the NATS server (nats.embedded)
	// and workers in this process.
	NATS string `yaml:"nats"`
	// Log format: "text" or "json".
	LogFormat string `yaml:"log_format"`
	// Lowest level logged: "debug", "info", "warn" or "error".
	LogLevel string `yaml:"log_level"`
	// How often the service looks for a changed configuration file,
	// changed lists and a changed token database. SIGHUP reloads at once.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// How long a shutdown waits for the mail in flight and for the sinks
	// to deliver what they hold.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// The values of Serve.NATS.
const (
	NATSConnect  = "connect"
	NATSEmbedded = "embedded"
)

// DefaultServe returns the service's defaults.
func DefaultServe() Serve {
	return Serve{
		HTTP:            server.DefaultConfig(),
		Milter:          milter.DefaultConfig(),
		MilterAnalysis:  true,
		Queue:           sink.DefaultQueueOptions(),
		LogFormat:       "text",
		LogLevel:        "info",
		ReloadInterval:  5 * time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Validate reports the first unusable value.
func (s Serve) Validate() error {
	if err := s.HTTP.Validate(); err != nil {
		return fmt.Errorf("serve.http: %w", err)
	}
	if err := s.Milter.Validate(); err != nil {
		return fmt.Errorf("serve.milter: %w", err)
	}
	if err := s.Queue.Check(); err != nil {
		return fmt.Errorf("serve.queue: %w", err)
	}
	for _, spec := range s.Sinks {
		if err := sink.CheckSpec(spec); err != nil {
			return fmt.Errorf("serve.sinks: %w", err)
		}
	}
	if s.NATS != "" && s.NATS != NATSConnect && s.NATS != NATSEmbedded {
		return fmt.Errorf("serve.nats %q: use %q, %q or nothing", s.NATS, NATSConnect, NATSEmbedded)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		return fmt.Errorf("serve.log_format %q: use text or json", s.LogFormat)
	}
	if _, err := s.Level(); err != nil {
		return err
	}
	if s.ReloadInterval <= 0 || s.ShutdownTimeout <= 0 {
		return errors.New("serve.reload_interval and serve.shutdown_timeout must be positive")
	}
	return nil
}

// Level is LogLevel as a slog level.
func (s Serve) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s.LogLevel))); err != nil {
		return 0, fmt.Errorf("serve.log_level %q: use debug, info, warn or error", s.LogLevel)
	}
	return l, nil
}
