package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mailsift/mailsift/report"
)

// Sink receives finished reports.
//
// Write may block while the destination catches up (back-pressure); it
// encodes r before it returns and does not keep it. Write is safe for
// concurrent use, and each report is written whole: two reports never
// interleave. Close flushes what is buffered, syncs files and releases
// them; a second Close does nothing, and Write after Close fails with an
// error wrapping ErrClosed.
type Sink interface {
	Write(ctx context.Context, r *report.Report) error
	Close() error
}

// ErrClosed is wrapped by Write after Close.
var ErrClosed = errors.New("sink closed")

// Forms lists the destinations, for error and help texts.
const Forms = `"-" (JSON lines on standard output), ` +
	`"jsonl:PATH[?max_size=SIZE&rotate=daily]", ` +
	`"dir:PATH", ` +
	`"esbulk:PATH[?prefix=NAME&max_size=SIZE&rotate=daily]", ` +
	`"redis://HOST:PORT[/DB][?key=NAME&mode=list|stream]", ` +
	ElasticForm

// networkSchemes are the URL schemes of the network destinations, which
// their own openers take.
var networkSchemes = []string{"redis://", "rediss://", "es+http://", "es+https://"}

// IsNetwork tells whether spec names a network destination (Redis,
// Elasticsearch), which goes through a Queue.
func IsNetwork(spec string) bool {
	for _, p := range networkSchemes {
		if strings.HasPrefix(spec, p) {
			return true
		}
	}
	return false
}

// CheckSpec reports whether spec names a destination, without opening
// it: the file kinds' options are checked in full, the network kinds'
// URLs for their syntax only (their openers check the rest).
func CheckSpec(spec string) error {
	if spec == "-" {
		return nil
	}
	if strings.HasPrefix(spec, "es+http://") || strings.HasPrefix(spec, "es+https://") {
		return CheckElastic(spec)
	}
	if IsNetwork(spec) {
		if _, err := url.Parse(spec); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("sink: redis destination: %w", err)
		}
		return nil
	}
	_, _, _, err := splitSpec(spec)
	return err
}

// splitSpec parses a file destination.
func splitSpec(spec string) (kind, path string, opts options, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sink: open %q: %s", spec, fmt.Sprintf(format, args...))
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || (kind != "jsonl" && kind != "dir" && kind != "esbulk") {
		return "", "", opts, fail("unknown destination; want %s", Forms)
	}
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", "", opts, fail("no path")
	}
	if opts, err = parseOptions(kind, query); err != nil {
		return "", "", opts, fail("%v", err)
	}
	return kind, path, opts, nil
}

// Open returns the sink that spec names:
//
//	"-"            one compact JSON object per line on stdout
//	"jsonl:PATH"   JSON lines appended to the file PATH
//	"dir:PATH"     one indented JSON file per mail, PATH/YYYY/MM/DD/<id>.json
//	"esbulk:PATH"  Elasticsearch _bulk NDJSON appended to the file PATH
//
// The file kinds take options after a "?", joined by "&":
//
//	max_size=SIZE  start a new file before one would pass SIZE bytes;
//	               SIZE is a number with an optional K, M or G (powers of
//	               1024; KB, KiB and the like are read the same)
//	rotate=daily   start a new file on the first write of each UTC day
//	prefix=NAME    esbulk only: the index names' prefix (default mailsift)
//
// On rotation the full file is synced and renamed with the UTC time of
// the rotation inserted before its extension (r.jsonl becomes
// r-20260102T150405Z.jsonl), and a new one is started; a report is never
// split across files. A file is created with its directory when missing
// and appended to when present. A path cannot contain "?".
func Open(spec string, stdout io.Writer) (Sink, error) {
	if spec == "-" {
		if stdout == nil {
			return nil, errors.New(`sink: open "-": no standard output`)
		}
		return newStream("stdout", writerOutput{stdout}, encodeLine), nil
	}
	kind, path, opts, err := splitSpec(spec)
	if err != nil {
		return nil, err
	}
	if kind == "dir" {
		return openDir(path)
	}
	f, err := openRotating(path, opts.maxSize, opts.daily, nil)
	if err != nil {
		return nil, err
	}
	if kind == "jsonl" {
		return newStream(path, f, encodeLine), nil
	}
	return newStream(path, f, func(r *report.Report, w io.Writer) error {
		return WriteBulk(w, ElasticDocs(r, opts.prefix))
	}), nil
}

type options struct {
	maxSize int64
	daily   bool
	prefix  string
}

func parseOptions(kind, query string) (options, error) {
	o := options{prefix: DefaultPrefix}
	if query == "" {
		return o, nil
	}
	if kind == "dir" {
		return o, errors.New("dir takes no options")
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return o, fmt.Errorf("bad options: %w", err)
	}
	for name, vs := range values {
		v := vs[len(vs)-1]
		switch {
		case name == "max_size":
			if o.maxSize, err = parseSize(v); err != nil {
				return o, err
			}
		case name == "rotate":
			if v != "daily" {
				return o, fmt.Errorf("rotate=%s: want rotate=daily", v)
			}
			o.daily = true
		case name == "prefix" && kind == "esbulk":
			if err := CheckIndexPrefix(v); err != nil {
				return o, err
			}
			o.prefix = v
		default:
			want := "max_size, rotate"
			if kind == "esbulk" {
				want += ", prefix"
			}
			return o, fmt.Errorf("unknown option %q; %s takes %s", name, kind, want)
		}
	}
	return o, nil
}

// parseSize reads a byte count such as 1048576, 512K, 100MB or 1GiB.
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "BbIiKkMmGg")
	unit := strings.ToUpper(s[len(num):])
	mult := map[string]int64{"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10,
		"M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || mult == 0 || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("max_size=%s: want a positive size such as 100MB", s)
	}
	return n * mult, nil
}

// Multi returns a Sink that writes every report to each of sinks, in
// order. Write writes to all of them and returns the first error; Close
// closes all of them and returns their errors joined. Nil sinks are
// skipped.
func Multi(sinks ...Sink) Sink {
	m := &multi{}
	for _, s := range sinks {
		if s != nil {
			m.sinks = append(m.sinks, s)
		}
	}
	return m
}

type multi struct {
	sinks  []Sink
	closed atomic.Bool
}

var _ Sink = (*multi)(nil)

func (m *multi) Write(ctx context.Context, r *report.Report) error {
	if m.closed.Load() {
		return fmt.Errorf("sink: multi: write: %w", ErrClosed)
	}
	var first error
	for _, s := range m.sinks {
		if err := s.Write(ctx, r); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *multi) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, s := range m.sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
