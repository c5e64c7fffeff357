package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/mailsift/mailsift/report"
)

// output is where a stream appends: a writer, or a file that rotates.
// Each chunk is one report's bytes, written whole.
type output interface {
	write(chunk []byte) error
	close() error
}

// stream is the Sink of the appending kinds: stdout, jsonl and esbulk.
// Reports are encoded outside the lock and appended under it.
type stream struct {
	name   string
	encode func(r *report.Report, w io.Writer) error

	mu     sync.Mutex
	out    output
	closed bool
}

var _ Sink = (*stream)(nil)

func newStream(name string, out output, encode func(*report.Report, io.Writer) error) *stream {
	return &stream{name: name, out: out, encode: encode}
}

func (s *stream) Write(ctx context.Context, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("sink: %s: write: nil report", s.name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: %s: write: %w", s.name, err)
	}
	var buf bytes.Buffer
	if err := s.encode(r, &buf); err != nil {
		return fmt.Errorf("sink: %s: encode report %s: %w", s.name, r.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sink: %s: write: %w", s.name, ErrClosed)
	}
	if err := s.out.write(buf.Bytes()); err != nil {
		return fmt.Errorf("sink: %s: write: %w", s.name, err)
	}
	return nil
}

func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.out.close(); err != nil {
		return fmt.Errorf("sink: %s: close: %w", s.name, err)
	}
	return nil
}

// encodeLine writes r as one compact JSON object and a newline. HTML is
// not escaped: bodies and URLs stay readable.
func encodeLine(r *report.Report, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// writerOutput appends to a writer it does not own: Close leaves it open.
type writerOutput struct{ w io.Writer }

func (o writerOutput) write(chunk []byte) error {
	n, err := o.w.Write(chunk)
	if err == nil && n < len(chunk) {
		err = io.ErrShortWrite
	}
	return err
}

func (o writerOutput) close() error {
	if f, ok := o.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}
