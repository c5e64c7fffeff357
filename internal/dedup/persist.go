package dedup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The file format, version 1:
//
//	magic    "MSSEEN" (6 bytes)
//	version  1 (1 byte)
//	policy   0 fifo, 1 lru (1 byte; informational)
//	count    number of keys (uvarint)
//	keys     count digests of 16 bytes, the next to be evicted first
//	crc      CRC-32C of everything above (4 bytes, big-endian)
const (
	magic         = "MSSEEN"
	formatVersion = 1
)

// ErrCorrupt is wrapped by Load and LoadFile when the data is not a filter
// file, is of an unknown version, is cut short, repeats a key or fails its
// checksum. The caller may log it and go on with an empty set.
var ErrCorrupt = errors.New("corrupt seen-filter data")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Save writes the keys to w, oldest (next to be evicted) first, so that
// Load gives back a set that evicts in the same order. Keys are written
// as their 16-byte digests; the set stays usable while Save runs.
func (s *Set) Save(w io.Writer) error {
	p, keys := s.snapshot()
	if err := write(w, p, keys); err != nil {
		return fmt.Errorf("dedup: save: %w", err)
	}
	return nil
}

// snapshot copies the policy and keys, so that writing them out does not
// hold up SeenOrAdd.
func (s *Set) snapshot() (Policy, []digest) {
	if s == nil {
		return FIFO, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy, s.ordered()
}

func write(w io.Writer, p Policy, keys []digest) error {
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	hdr := append([]byte(magic), formatVersion, byte(p))
	hdr = binary.AppendUvarint(hdr, uint64(len(keys)))
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	for i := range keys {
		if _, err := bw.Write(keys[i][:]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// Load replaces the set's keys with those Save wrote to r, in their
// order. When the data holds more keys than the set's capacity, the
// oldest are dropped. The set keeps its own policy. On error the set is
// left as it was; malformed data gives an error wrapping ErrCorrupt.
func (s *Set) Load(r io.Reader) error {
	if s == nil {
		return errors.New("dedup: load: nil set")
	}
	keys, err := read(r)
	if err == nil {
		err = s.replace(keys)
	}
	if err != nil {
		return fmt.Errorf("dedup: load: %w", err)
	}
	return nil
}

func read(r io.Reader) ([]digest, error) {
	crc := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 64<<10)
	tr := io.TeeReader(br, crc)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	short := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return corrupt("truncated")
		}
		return err
	}

	hdr := make([]byte, len(magic)+2, len(magic)+2+binary.MaxVarintLen64)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, short(err)
	}
	if string(hdr[:len(magic)]) != magic {
		return nil, corrupt("not a filter file")
	}
	if v := hdr[len(magic)]; v != formatVersion {
		return nil, corrupt("unknown version %d", v)
	}
	if p := Policy(hdr[len(magic)+1]); p != FIFO && p != LRU {
		return nil, corrupt("unknown policy %d", p)
	}
	for n := 0; ; n++ {
		c, err := br.ReadByte()
		if err != nil {
			return nil, short(err)
		}
		hdr = append(hdr, c)
		if c < 0x80 {
			break
		}
		if n+1 == binary.MaxVarintLen64 {
			return nil, corrupt("bad key count")
		}
	}
	count, n := binary.Uvarint(hdr[len(magic)+2:])
	if n <= 0 {
		return nil, corrupt("bad key count")
	}
	if count > MaxCapacity {
		return nil, corrupt("%d keys, more than %d", count, MaxCapacity)
	}
	crc.Write(hdr)

	// Grow with the data actually read, so that a forged count cannot
	// make Load allocate more than the file holds.
	keys := make([]digest, 0, min(count, 1<<16))
	var d digest
	for range count {
		if _, err := io.ReadFull(tr, d[:]); err != nil {
			return nil, short(err)
		}
		keys = append(keys, d)
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return nil, short(err)
	}
	if binary.BigEndian.Uint32(sum[:]) != want {
		return nil, corrupt("checksum mismatch")
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, corrupt("data after the checksum")
	} else if err != io.EOF {
		return nil, err
	}
	return keys, nil
}

// LoadFile replaces the set's keys with those saved at path. A missing
// file counts as an empty one. On error the set is left as it was; a
// malformed file gives an error wrapping ErrCorrupt.
func (s *Set) LoadFile(path string) error {
	if s == nil {
		return errors.New("dedup: load: nil set")
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return s.replace(nil)
	}
	if err != nil {
		return fmt.Errorf("dedup: load: %w", err)
	}
	keys, err := read(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = s.replace(keys)
	}
	if err != nil {
		return fmt.Errorf("dedup: load %s: %w", path, err)
	}
	return nil
}

// SaveFile writes the set to path atomically: to a temporary file in the
// same directory, synced, then renamed over path. The directory is
// created when missing.
func (s *Set) SaveFile(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dedup: save: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("dedup: save: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	p, keys := s.snapshot()
	if err := write(tmp, p, keys); err != nil {
		return fmt.Errorf("dedup: save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("dedup: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dedup: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dedup: save: %w", err)
	}
	return nil
}
