package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mailsift/mailsift/report"
)

// dir writes one indented JSON file per report under
// root/YYYY/MM/DD/<id>.json, dated by AnalysedAt in UTC. Each file is
// written to a temporary name and renamed into place, so a reader never
// sees half a report, and the same id twice replaces the first file.
// Files are not synced one by one: after a crash the newest may be
// missing, never partial.
type dir struct {
	root string

	mu     sync.RWMutex // held for reading by writes, for writing by Close
	closed bool
}

var _ Sink = (*dir)(nil)

func openDir(root string) (*dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("sink: open dir %s: %w", root, err)
	}
	return &dir{root: root}, nil
}

func (d *dir) Write(ctx context.Context, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("sink: dir %s: write: nil report", d.root)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: dir %s: write: %w", d.root, err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return fmt.Errorf("sink: dir %s: write: %w", d.root, ErrClosed)
	}
	if !safeName(r.ID) {
		return fmt.Errorf("sink: dir %s: write: report id %q is not a file name", d.root, r.ID)
	}
	data, err := indent(r)
	if err != nil {
		return fmt.Errorf("sink: dir %s: encode report %s: %w", d.root, r.ID, err)
	}
	day := filepath.Join(d.root, r.AnalysedAt.UTC().Format(filepath.Join("2006", "01", "02")))
	path := filepath.Join(day, r.ID+".json")
	if err := writeAtomic(day, path, data); err != nil {
		return fmt.Errorf("sink: dir %s: write %s: %w", d.root, path, err)
	}
	return nil
}

func (d *dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

func indent(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeAtomic puts data at path through a temporary file in dir.
func writeAtomic(dir, path string, data []byte) (err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(tmp.Name()))
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Chmod(0o640); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// safeName reports whether id can be a file name on its own: report ids
// are hex digests, but a report from elsewhere may carry anything.
func safeName(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 200 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return id[0] != '.'
}
