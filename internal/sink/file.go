package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// rotating is an append-only file that is renamed aside and started
// afresh when the next chunk would make it pass maxSize, or on the first
// chunk of a new UTC day. A chunk never spans two files.
type rotating struct {
	path    string
	maxSize int64 // 0: no limit
	daily   bool
	now     func() time.Time

	f    *os.File
	size int64
	day  string // UTC date of the current file, 2006-01-02
}

var _ output = (*rotating)(nil)

// openRotating opens path for appending; now is the clock (nil: the real
// one). The day of a file already there is that of its last change.
func openRotating(path string, maxSize int64, daily bool, now func() time.Time) (*rotating, error) {
	if now == nil {
		now = time.Now
	}
	r := &rotating{path: path, maxSize: maxSize, daily: daily, now: now}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sink: open %s: %w", path, err)
	}
	if err := r.open(); err != nil {
		return nil, fmt.Errorf("sink: open %s: %w", path, err)
	}
	return r, nil
}

func (r *rotating) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return errors.Join(err, f.Close())
	}
	r.f, r.size, r.day = f, st.Size(), dayOf(r.now())
	if st.Size() > 0 {
		r.day = dayOf(st.ModTime())
	}
	return nil
}

var errNoFile = errors.New("file not open")

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func (r *rotating) write(chunk []byte) error {
	if r.f == nil {
		// A failed rotation left no file: try again.
		if err := r.open(); err != nil {
			return fmt.Errorf("%w: %w", errNoFile, err)
		}
	}
	if r.size > 0 && ((r.maxSize > 0 && r.size+int64(len(chunk)) > r.maxSize) ||
		(r.daily && dayOf(r.now()) != r.day)) {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	n, err := r.f.Write(chunk)
	r.size += int64(n)
	return err
}

// rotate syncs and closes the current file, renames it with the time,
// and opens a new one. When the rename fails, writing goes on in the old
// file.
func (r *rotating) rotate() error {
	err := r.closeFile()
	if err == nil {
		var aside string
		aside, err = r.asideName()
		if err == nil {
			err = os.Rename(r.path, aside)
		}
	}
	if oerr := r.open(); oerr != nil {
		return errors.Join(err, oerr)
	}
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

// asideName is the path with the UTC time before its extension, and a
// counter when a file of that name exists already.
func (r *rotating) asideName() (string, error) {
	ext := filepath.Ext(r.path)
	base := strings.TrimSuffix(r.path, ext) + "-" + r.now().UTC().Format("20060102T150405Z")
	for i := 0; i < 1000; i++ {
		name := base + ext
		if i > 0 {
			name = base + "-" + strconv.Itoa(i) + ext
		}
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return name, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("too many rotated files named %s*%s", base, ext)
}

func (r *rotating) closeFile() error {
	f := r.f
	r.f = nil
	if f == nil {
		return nil
	}
	return errors.Join(syncFile(f), f.Close())
}

// syncFile flushes f to stable storage. Devices and pipes (a jsonl:/dev/null
// or a FIFO) cannot be synced and need not be.
func syncFile(f *os.File) error {
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil
	}
	return f.Sync()
}

func (r *rotating) close() error { return r.closeFile() }
