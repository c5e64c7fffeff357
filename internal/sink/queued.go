package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mailsift/mailsift/report"
)

// Stater is a Sink that counts what it delivered: every Queue.
type Stater interface {
	Stats() QueueStats
}

var _ Stater = (*Queue[[]byte])(nil)

// OpenQueued opens a file destination as Open does, behind a Queue: a
// service's writers hand their reports to the queue and go on, reports
// are appended a batch at a time, and a failing disk is retried with
// back-off while the queue holds the reports back (and, once full,
// slows the writers down). Network destinations have their own openers.
func OpenQueued(spec string, stdout io.Writer, o QueueOptions) (Sink, error) {
	if IsNetwork(spec) {
		return nil, fmt.Errorf("sink: open %q: a network destination has its own opener", spec)
	}
	s, err := Open(spec, stdout)
	if err != nil {
		return nil, err
	}
	switch s := s.(type) {
	case *stream:
		return NewQueue(s.name, streamBatcher{s}, o), nil
	case *dir:
		return NewQueue(s.root, dirBatcher{s}, o), nil
	}
	return nil, fmt.Errorf("sink: open %q: cannot be queued", spec)
}

// streamBatcher appends a batch of encoded reports in one write.
type streamBatcher struct{ s *stream }

var _ Batcher[[]byte] = streamBatcher{}

func (b streamBatcher) Encode(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := b.s.encode(r, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b streamBatcher) Send(_ context.Context, batch [][]byte) ([][]byte, int, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	for i, chunk := range batch {
		if err := b.s.out.write(chunk); err != nil {
			return batch[i:], 0, fmt.Errorf("write %s: %w", b.s.name, err)
		}
	}
	return nil, 0, nil
}

func (b streamBatcher) Close() error { return b.s.Close() }

// dirItem is one report file to write.
type dirItem struct {
	day, path string
	data      []byte
}

// dirBatcher writes each report of a batch to its own file.
type dirBatcher struct{ d *dir }

var _ Batcher[dirItem] = dirBatcher{}

func (b dirBatcher) Encode(r *report.Report) (dirItem, error) {
	if !safeName(r.ID) {
		return dirItem{}, fmt.Errorf("report id %q is not a file name", r.ID)
	}
	data, err := indent(r)
	if err != nil {
		return dirItem{}, err
	}
	day := filepath.Join(b.d.root, r.AnalysedAt.UTC().Format(filepath.Join("2006", "01", "02")))
	return dirItem{day: day, path: filepath.Join(day, r.ID+".json"), data: data}, nil
}

func (b dirBatcher) Send(_ context.Context, batch []dirItem) ([]dirItem, int, error) {
	for i, it := range batch {
		if err := writeAtomic(it.day, it.path, it.data); err != nil {
			return batch[i:], 0, fmt.Errorf("write %s: %w", it.path, err)
		}
	}
	return nil, 0, nil
}

func (b dirBatcher) Close() error { return b.d.Close() }
