// Package redis delivers reports to a Redis server, as lists or streams,
// for consumers that pop or read them from there (SpamScope's
// output-redis did the same).
//
// Data flows in one direction. Open parses a URL spec, makes a go-redis
// client and returns a sink.Queue in front of it: Write encodes each
// report at once into an Item (its JSON, or with docs=split the
// documents of sink.ElasticDocs as JSON) and queues it; the Queue's one
// goroutine hands batches to Send, which stores a whole batch in one
// round trip as a MULTI/EXEC transaction: RPUSH for lists, one XADD per
// document for streams. Buffering, batching, back-off, back-pressure and
// the drain on Close are the Queue's (see sink.NewQueue).
//
// The spec is
//
//	redis://[user:password@]host:port[/db][?options]
//	rediss://...   the same over TLS
//
// with these options, joined by "&":
//
//	key=NAME       the list or stream (default mailsift); docs=split
//	               writes to NAME:mails and NAME:attachments instead
//	mode=list      RPUSH the JSON to the list (default)
//	mode=stream    XADD an entry with the fields id and report, or with
//	               docs=split the fields id (the document's), mail_id and
//	               doc
//	docs=report    one value per report: the whole report (default)
//	docs=split     one value per mail document and per attachment
//	               document, as sink.ElasticDocs makes them
//	maxlen=N       streams only: XADD with MAXLEN ~ N (0: no limit)
//	timeout=5s     how long one batch may take (default 5s)
//	db=N, client_name=NAME, protocol=2|3, skip_verify=true
//	               passed to go-redis (skip_verify only with rediss)
//
// Any other option is an error. A server that cannot be reached when
// Open is called is not one: Open reports it through OnError and the
// Queue keeps trying, so reports wait (and Write blocks once the queue is
// full) until the server is up.
//
// Delivery is at least once: a batch whose reply was lost (the
// connection broke after EXEC was sent) is sent again, and may then be
// stored twice; consumers that must not see a report twice dedupe on its
// id. A batch fails whole on a connection error or when the server is
// temporarily unable to write (LOADING, BUSY, READONLY, MASTERDOWN,
// TRYAGAIN, CLUSTERDOWN, NOREPLICAS, OOM, too many clients) or refuses
// the credentials (NOAUTH, WRONGPASS, NOPERM: fixed on the server, not
// in the report), and is sent again after a back-off. Any other error
// reply, such as WRONGTYPE when the key holds another type, will never
// pass: the batch is rejected and not sent again. Such an error happens
// while EXEC runs, and Redis does not roll back the commands that
// succeeded, so with docs=split a batch may be rejected after its mail
// documents were stored and its attachment documents were not.
//
// This package logs nothing; failures reach the program through
// QueueOptions.OnError. go-redis itself logs failed dials through its
// global logger, which a program may replace with goredis.SetLogger.
//
// Left out: Redis Cluster and Sentinel (one server, or a proxy in front
// of several); trimming lists (consumers pop them); exactly-once delivery
// (streams could use XADD IDMP from Redis 8.6 on); and reading from
// Redis, which is a source's job.
package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// Defaults of the spec's options.
const (
	DefaultKey     = "mailsift"
	DefaultTimeout = 5 * time.Second
)

// pingTimeout bounds the PING of Open, so that an absent server does not
// hold up the start.
const pingTimeout = time.Second

// Item is one report encoded for Redis, made by Write and stored by the
// Queue's Send. Its fields are private.
type Item struct {
	id   string
	docs []doc
}

// doc is one value to store: with docs=report the whole report, with
// docs=split one document of sink.ElasticDocs.
type doc struct {
	key  string // the list or stream it goes to
	id   string // the document's id (the report's with docs=report)
	body []byte // compact JSON
}

// config is a parsed spec.
type config struct {
	key     string
	stream  bool
	split   bool
	maxLen  int64
	timeout time.Duration
	opts    *goredis.Options
	where   string // address and key for errors, without credentials
}

// batcher stores batches of Items with one client.
type batcher struct {
	config
	client *goredis.Client
}

var _ sink.Batcher[Item] = (*batcher)(nil)

// Open returns a Queue that stores reports in the Redis server spec names
// (see the package comment for the spec). It fails on a malformed spec,
// bad options, or a server that answers PING with an error (wrong
// password, no such database); a server that does not answer at all is
// reported to o.OnError and tried again later.
func Open(spec string, o sink.QueueOptions) (*sink.Queue[Item], error) {
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("sink: redis: %w", err)
	}
	c, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	b := &batcher{config: c, client: goredis.NewClient(c.opts)}
	if err := b.ping(o.OnError); err != nil {
		if cerr := b.client.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("sink: redis: close %s: %w", b.where, cerr))
		}
		return nil, err
	}
	return sink.NewQueue("redis", b, o), nil
}

// ping checks the server once. An error reply that will not pass by
// itself is returned; anything else goes to onError.
func (b *batcher) ping(onError func(error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), min(b.timeout, pingTimeout))
	defer cancel()
	err := b.client.Ping(ctx).Err()
	switch {
	case err == nil:
		return nil
	case isReply(err) && !isBusy(err):
		return fmt.Errorf("sink: redis: ping %s: %w", b.where, err)
	}
	if onError != nil {
		onError(fmt.Errorf("sink: redis: ping %s: %w (reports wait until it answers)", b.where, err))
	}
	return nil
}

// ownOptions and clientOptions are the options the spec takes: the first
// are read here, the second passed on to goredis.ParseURL.
var (
	ownOptions    = []string{"key", "mode", "docs", "maxlen", "timeout"}
	clientOptions = []string{"db", "client_name", "protocol", "skip_verify"}
)

// parseSpec reads a spec. Its errors never carry the password.
func parseSpec(spec string) (config, error) {
	c := config{key: DefaultKey, timeout: DefaultTimeout}
	u, err := url.Parse(spec)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return c, fmt.Errorf("sink: redis: spec is not a URL: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sink: redis: open %q: %s", u.Redacted(), fmt.Sprintf(format, args...))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return c, fail("want a redis:// or rediss:// URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return c, fail("no host; want %s://[user:password@]host:port[/db]", u.Scheme)
	}
	if u.Fragment != "" {
		return c, fail("a fragment (#) is not allowed")
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fail("bad options: %v", err)
	}
	pass := url.Values{}
	maxLenSet := false
	for _, name := range slices.Sorted(maps.Keys(query)) {
		vs := query[name]
		if len(vs) > 1 {
			return c, fail("option %s given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "key":
			if v == "" {
				return c, fail("key is empty")
			}
			c.key = v
		case "mode":
			switch v {
			case "list":
				c.stream = false
			case "stream":
				c.stream = true
			default:
				return c, fail("mode=%s: want list or stream", v)
			}
		case "docs":
			switch v {
			case "report":
				c.split = false
			case "split":
				c.split = true
			default:
				return c, fail("docs=%s: want report or split", v)
			}
		case "maxlen":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return c, fail("maxlen=%s: want a whole number, 0 for no limit", v)
			}
			c.maxLen, maxLenSet = n, true
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fail("timeout=%s: want a positive duration such as 5s", v)
			}
			c.timeout = d
		default:
			if !slices.Contains(clientOptions, name) {
				return c, fail("unknown option %q; want %s", name,
					strings.Join(slices.Concat(ownOptions, clientOptions), ", "))
			}
			pass.Set(name, v)
		}
	}
	if maxLenSet && !c.stream {
		return c, fail("maxlen needs mode=stream")
	}
	u.RawQuery = pass.Encode()
	u.Fragment = ""
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		return c, fail("%v", err)
	}
	// The Queue retries with back-off; go-redis retrying underneath would
	// only hold each attempt up.
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.ContextTimeoutEnabled = true
	c.opts = opts
	c.where = opts.Addr
	if opts.DB != 0 {
		c.where += "/" + strconv.Itoa(opts.DB)
	}
	c.where += " key " + c.key
	return c, nil
}

// Encode turns r into its JSON values. It is called by Write.
func (b *batcher) Encode(r *report.Report) (Item, error) {
	it := Item{id: r.ID}
	if !b.split {
		body, err := encodeJSON(r)
		if err != nil {
			return it, err
		}
		it.docs = []doc{{key: b.key, id: r.ID, body: body}}
		return it, nil
	}
	for i, d := range sink.ElasticDocs(r, sink.DefaultPrefix) {
		body, err := encodeJSON(d.Body)
		if err != nil {
			return it, fmt.Errorf("document %d: %w", i, err)
		}
		key := b.key + ":mails"
		if strings.Contains(d.Index, "-attachments-") {
			key = b.key + ":attachments"
		}
		it.docs = append(it.docs, doc{key: key, id: d.ID, body: body})
	}
	return it, nil
}

// encodeJSON is compact JSON that leaves <, > and & alone, like the
// sink package's JSON lines, without the newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Send stores batch in one MULTI/EXEC round trip. It returns the whole
// batch to try again when the connection failed or the server is
// temporarily unable to write, and nil with the error when the server
// refused a command for good (see the package comment).
func (b *batcher) Send(ctx context.Context, batch []Item) (retry []Item, rejected int, err error) {
	if len(batch) == 0 {
		return nil, 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	pipe := b.client.TxPipeline()
	if b.stream {
		b.xadd(ctx, pipe, batch)
	} else {
		b.rpush(ctx, pipe, batch)
	}
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil, 0, nil
	}
	// EXECABORT only says that a command was refused when queued; that
	// command carries the reason, which decides and is reported.
	cause := fmt.Errorf("%s: %w", b.where, err)
	for _, cmd := range cmds {
		cerr := cmd.Err()
		if cerr == nil || goredis.IsExecAbortError(cerr) {
			continue
		}
		if refused(cerr) {
			return nil, len(batch), fmt.Errorf("%s: %s: %w", b.where, cmd.Name(), cerr)
		}
		if goredis.IsExecAbortError(err) {
			cause, err = fmt.Errorf("%s: %s: %w", b.where, cmd.Name(), cerr), cerr
		}
	}
	if refused(err) {
		return nil, len(batch), cause
	}
	return batch, 0, cause
}

// rpush queues one RPUSH per list with the batch's values in order.
func (b *batcher) rpush(ctx context.Context, pipe goredis.Pipeliner, batch []Item) {
	var keys []string
	values := map[string][]any{}
	for _, it := range batch {
		for _, d := range it.docs {
			if _, ok := values[d.key]; !ok {
				keys = append(keys, d.key)
			}
			values[d.key] = append(values[d.key], d.body)
		}
	}
	for _, k := range keys {
		pipe.RPush(ctx, k, values[k]...)
	}
}

// xadd queues one XADD per value.
func (b *batcher) xadd(ctx context.Context, pipe goredis.Pipeliner, batch []Item) {
	for _, it := range batch {
		for _, d := range it.docs {
			fields := []any{"id", it.id, "report", d.body}
			if b.split {
				fields = []any{"id", d.id, "mail_id", it.id, "doc", d.body}
			}
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: d.key, MaxLen: b.maxLen, Approx: true, Values: fields})
		}
	}
}

// Close closes the client; the Queue calls it after the last Send.
func (b *batcher) Close() error {
	if err := b.client.Close(); err != nil {
		return fmt.Errorf("close %s: %w", b.where, err)
	}
	return nil
}

// isReply reports whether err is an error reply of the server, as opposed
// to a failure to reach it or to hear its answer.
func isReply(err error) bool {
	var re goredis.Error
	return err != nil && errors.As(err, &re)
}

// refused reports whether err is an error reply that sending the same
// commands again will not change.
func refused(err error) bool {
	return isReply(err) && !isBusy(err) && !isAuth(err) && !goredis.IsExecAbortError(err)
}

// isBusy reports whether err is an error reply that says the server cannot
// take writes for now.
func isBusy(err error) bool {
	return goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) ||
		goredis.IsMasterDownError(err) || goredis.IsTryAgainError(err) ||
		goredis.IsClusterDownError(err) || goredis.IsNoReplicasError(err) ||
		goredis.IsOOMError(err) || goredis.IsMaxClientsError(err) ||
		goredis.HasErrorPrefix(err, "BUSY ")
}

// isAuth reports whether err refuses the client's credentials or rights,
// which an operator fixes on the server without changing the reports.
func isAuth(err error) bool {
	return goredis.IsAuthError(err) || goredis.IsPermissionError(err)
}

// LogTo sends the Redis client's own messages (such as a failed dial,
// which the Queue also reports and retries) to l at debug level instead
// of standard error. It sets the client library's one global logger.
func LogTo(l *slog.Logger) {
	goredis.SetLogger(slogPrinter{l})
}

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "redis client")
}
