package mailq

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config says where the queue is and how it behaves. The names of the
// streams, buckets and the consumer are shared by every process of one
// deployment; two deployments on one NATS server differ by them.
type Config struct {
	// The NATS server or cluster: one URL or several separated by commas
	// ("nats://host:4222"); user and password may go in the URL.
	URL string `yaml:"url"`
	// A NATS credentials file (JWT and NKey seed), for servers that
	// ask for one.
	CredsFile string `yaml:"creds_file"`
	// The work-queue stream of raw mails, and its subject.
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"`
	// The durable pull consumer that all workers share.
	Consumer string `yaml:"consumer"`
	// How long a worker may hold a mail before the server hands it to
	// another worker; workers report slow mails in progress well within it.
	AckWait time.Duration `yaml:"ack_wait"`
	// How long a worker may analyse one mail; past it the attempt fails.
	MailTimeout time.Duration `yaml:"mail_timeout"`
	// Attempts at a mail before it goes to the dead letters.
	MaxDeliver int `yaml:"max_deliver"`
	// Mails handed out and not yet acknowledged, for all workers
	// together; the server stops handing out more at this many.
	MaxAckPending int `yaml:"max_ack_pending"`
	// The delay before a failed mail is tried again doubles from
	// retry_min up to retry_max.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// How long the stream remembers a mail's id to refuse the same mail
	// submitted again.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// Copies of each stream on a cluster (1, 3 or 5).
	Replicas int `yaml:"replicas"`
	// The stream of mails set aside after their last attempt, with the
	// error, and its subject.
	DeadStream  string `yaml:"dead_stream"`
	DeadSubject string `yaml:"dead_subject"`
	// The object store bucket for mails larger than the server's
	// max_payload; its objects expire after large_max_age.
	LargeBucket string        `yaml:"large_bucket"`
	LargeMaxAge time.Duration `yaml:"large_max_age"`
	// Publish every report to this subject too (empty: off), kept in the
	// results stream for results_max_age, one copy per report id.
	Results       string        `yaml:"results"`
	ResultsStream string        `yaml:"results_stream"`
	ResultsMaxAge time.Duration `yaml:"results_max_age"`
	// Share the "already seen" filters between workers in this key-value
	// bucket; entries expire after seen_max_age. Off, each worker keeps
	// its own filters (analysis.seen).
	SharedSeen bool          `yaml:"shared_seen"`
	SeenBucket string        `yaml:"seen_bucket"`
	SeenMaxAge time.Duration `yaml:"seen_max_age"`
	// The server that serve --embedded-nats runs in the process.
	Embedded Embedded `yaml:"embedded"`
}

// Embedded configures the in-process NATS server.
type Embedded struct {
	// Where it listens for other processes (workers, submit) on this
	// host or others; empty serves this process alone.
	Listen string `yaml:"listen"`
	// Where the streams are stored. Default: ~/.mailsift/nats.
	Dir string `yaml:"dir"`
	// The largest message it takes; larger mails go through the object
	// store.
	MaxPayload int `yaml:"max_payload"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	dir := filepath.Join(".mailsift", "nats")
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		dir = filepath.Join(home, dir)
	}
	return Config{
		URL:             "nats://127.0.0.1:4222",
		Stream:          "MAILSIFT_MAILS",
		Subject:         "mailsift.mails",
		Consumer:        "mailsift-workers",
		AckWait:         30 * time.Second,
		MailTimeout:     time.Minute,
		MaxDeliver:      5,
		MaxAckPending:   1000,
		RetryMin:        time.Second,
		RetryMax:        time.Minute,
		DuplicateWindow: 10 * time.Minute,
		Replicas:        1,
		DeadStream:      "MAILSIFT_DEAD",
		DeadSubject:     "mailsift.dead",
		LargeBucket:     "mailsift-large",
		LargeMaxAge:     7 * 24 * time.Hour,
		ResultsStream:   "MAILSIFT_REPORTS",
		ResultsMaxAge:   24 * time.Hour,
		SharedSeen:      true,
		SeenBucket:      "mailsift-seen",
		SeenMaxAge:      30 * 24 * time.Hour,
		Embedded: Embedded{
			Listen:     "127.0.0.1:4222",
			Dir:        dir,
			MaxPayload: 1 << 20,
		},
	}
}

// Validate reports the first unusable value.
func (c Config) Validate() error {
	for _, u := range strings.Split(c.URL, ",") {
		if p, err := url.Parse(strings.TrimSpace(u)); err != nil || p.Host == "" {
			return fmt.Errorf("nats.url %q: want nats://HOST:PORT", c.URL)
		}
	}
	names := map[string]string{"stream": c.Stream, "subject": c.Subject, "consumer": c.Consumer,
		"dead_stream": c.DeadStream, "dead_subject": c.DeadSubject, "large_bucket": c.LargeBucket,
		"results_stream": c.ResultsStream, "seen_bucket": c.SeenBucket}
	for key, v := range names {
		if v == "" || strings.ContainsAny(v, " \t*>") {
			return fmt.Errorf("nats.%s %q: want a name without spaces or wildcards", key, v)
		}
	}
	if strings.ContainsAny(c.Results, " \t*>") {
		return fmt.Errorf("nats.results %q: want a subject without spaces or wildcards", c.Results)
	}
	switch {
	case c.AckWait < time.Second:
		return errors.New("nats.ack_wait must be at least 1s")
	case c.MailTimeout <= 0:
		return errors.New("nats.mail_timeout must be positive")
	case c.MaxDeliver < 1:
		return errors.New("nats.max_deliver must be at least 1")
	case c.MaxAckPending < 1:
		return errors.New("nats.max_ack_pending must be at least 1")
	case c.RetryMin <= 0 || c.RetryMax < c.RetryMin:
		return errors.New("nats.retry_min must be positive and at most retry_max")
	case c.DuplicateWindow <= 0 || c.LargeMaxAge <= 0 || c.ResultsMaxAge <= 0 || c.SeenMaxAge <= 0:
		return errors.New("nats: duplicate_window and the max ages must be positive")
	case c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5:
		return errors.New("nats.replicas must be 1, 3 or 5")
	case c.Embedded.MaxPayload < 64<<10:
		return errors.New("nats.embedded.max_payload must be at least 64KiB")
	}
	return nil
}
