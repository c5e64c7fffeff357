package tokendb

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Class is what a message was trained as.
type Class uint8

// The two classes. The values are stored in the ledger; do not renumber.
const (
	Ham  Class = 1
	Spam Class = 2
)

// String returns "ham" or "spam".
func (c Class) String() string {
	switch c {
	case Ham:
		return "ham"
	case Spam:
		return "spam"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

func (c Class) valid() bool { return c == Ham || c == Spam }

// other returns the opposite class.
func (c Class) other() Class {
	if c == Ham {
		return Spam
	}
	return Ham
}

var (
	// ErrNotExist is returned (wrapped) by Open when the file is missing and
	// Options.Create is false or Options.ReadOnly is set. It also matches
	// fs.ErrNotExist.
	ErrNotExist = fmt.Errorf("token database %w", fs.ErrNotExist)

	// ErrCorrupt is returned (wrapped) for a file that is not a mailsift token
	// database (not bbolt, bad magic or version, missing buckets) or that is
	// damaged (truncated, undecodable values, a bbolt panic).
	ErrCorrupt = errors.New("not a mailsift token database, or damaged")

	// ErrLocked is returned (wrapped) by Open when another process still holds
	// the file lock after Options.Timeout.
	ErrLocked = errors.New("token database locked by another process")

	errReadOnly = errors.New("database opened read-only")
)

// Options tell Open how to open the file.
type Options struct {
	// ReadOnly takes a shared lock and refuses writes.
	ReadOnly bool
	// Create creates the file (mode 0600) and its parent directory (mode
	// 0700) if missing. Ignored with ReadOnly.
	Create bool
	// Timeout is how long to wait for the file lock; 0 means 10s.
	Timeout time.Duration
}

const (
	defaultTimeout = 10 * time.Second
	// lockPoll is how often Open retries a lock held by another process.
	// bbolt's own retry is 50ms; polling faster shortens the wait of a
	// mark behind a training run.
	lockPoll = 5 * time.Millisecond

	// formatVersion 2 added the features and model buckets of the default
	// classifier.
	formatVersion = 2
	magic         = "mailsift-tokendb"
	// maxWordLen is bbolt's key size limit.
	maxWordLen = bolt.MaxKeySize
	// fillPercent packs pages fuller than bbolt's default 0.5: keys are
	// applied in sorted order, mostly appended in bulk.
	fillPercent = 0.9
)

var (
	bucketMeta   = []byte("meta")
	bucketWords  = []byte("words")
	bucketLedger = []byte("ledger")
	// bucketFeatures holds, per feature of the default classifier, the
	// number of ham and spam messages it appeared in.
	bucketFeatures = []byte("features")
	// bucketModel holds the weights of the logistic regression.
	bucketModel = []byte("model")
	// bucketVectors holds, per learned message (keyed by its ledger hash),
	// its hashed features: the regression is fitted again from them after
	// every change, so it does not depend on the order of training runs.
	bucketVectors = []byte("vectors")

	keyMagic   = []byte("magic")
	keyVersion = []byte("version")
	keyID      = []byte("id")
	keyTotals  = []byte("totals")
	keyGen     = []byte("generation")
	// keyFeatureTotals counts the messages the default classifier learned:
	// a restored SpamOracle backup has words but no features.
	keyFeatureTotals = []byte("feature-totals")
	keyWeights       = []byte("logreg")
)

// DB is an open token database. It is safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
	// weightsMapped is set by the first LookupModel, which maps in the
	// stored weights in one call (see populateRead); later lookups find
	// them mapped.
	weightsMapped atomic.Bool
}

// Open opens the token database at path, waiting up to opts.Timeout for the
// file lock. Errors wrap ErrNotExist, ErrCorrupt or ErrLocked where they
// apply.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	deadline := time.Now().Add(timeout)
	create := opts.Create && !opts.ReadOnly
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("tokendb: open %s: %w", path, err)
		}
	}
	if !opts.ReadOnly {
		// Check an existing file read-only first. On a damaged file bbolt can
		// panic in a read-write open while loading the freelist, after it
		// has mapped the file: that mapping cannot be undone from here, and
		// it would keep the flock for the life of the process. A read-only
		// open reads nothing beyond the meta pages before check has verified
		// that the file is as long as they say.
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			db, err := open(path, true, create, false, deadline)
			if err != nil {
				return nil, err
			}
			if err := db.Close(); err != nil {
				return nil, err
			}
		}
	}
	return open(path, opts.ReadOnly, create, create, deadline)
}

// open opens and checks the file. With allowEmpty an empty bbolt file
// passes, and with create (not read-only) it is initialised.
func open(path string, readOnly, allowEmpty, create bool, deadline time.Time) (*DB, error) {
	bdb, err := openBolt(path, readOnly, create, deadline)
	if err != nil {
		return nil, fmt.Errorf("tokendb: open %s: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path, readOnly: readOnly}
	if err := db.check(allowEmpty, create); err != nil {
		if cerr := bdb.Close(); cerr != nil {
			err = fmt.Errorf("%w (close: %v)", err, cerr)
		}
		return nil, fmt.Errorf("tokendb: open %s: %w", path, err)
	}
	return db, nil
}

// openBolt opens the bbolt file, polling the lock every lockPoll until
// the deadline.
func openBolt(path string, readOnly, create bool, deadline time.Time) (*bolt.DB, error) {
	start := time.Now()
	for {
		bdb, err := openBoltOnce(path, readOnly, create)
		if err == nil {
			return bdb, nil
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			return nil, openError(path, err)
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w (waited %v)", ErrLocked, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(lockPoll)
	}
}

// openBoltOnce makes one bbolt.Open attempt with a single, non-blocking try
// at the lock. bbolt can panic (or fault on a truncated mapping) while
// reading a damaged file: that becomes ErrCorrupt, and the file descriptor,
// which holds the lock, is closed.
func openBoltOnce(path string, readOnly, create bool) (bdb *bolt.DB, err error) {
	var f *os.File
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				_ = f.Close() // best effort: releases the flock; the panic is the error reported
			}
			bdb, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return bolt.Open(path, 0o600, &bolt.Options{
		// A non-zero timeout shorter than bbolt's 50ms retry interval
		// makes bbolt try the lock exactly once; openBolt polls.
		Timeout:         time.Nanosecond,
		ReadOnly:        readOnly,
		FreelistType:    bolt.FreelistMapType,
		NoStatistics:    true,
		InitialMmapSize: initialMmapSize(readOnly),
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			if !create {
				flag &^= os.O_CREATE
			}
			var err error
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		},
	})
}

// initialMmapSize reserves address space for a writer's file to grow
// into: without it, every time a training run outgrows the mapping bbolt
// copies every key and value the transaction holds out of the old mapping
// before it maps the file again. Only address space is reserved; memory
// comes as the file grows. bbolt then grows the file in steps of 16 MB,
// left sparse until pages are written.
func initialMmapSize(readOnly bool) int {
	if readOnly || strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}

// openError maps bbolt's open errors to ours.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotExist
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	// bbolt initialises an empty file, which fails on a read-only descriptor.
	if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return fmt.Errorf("%w: empty file", ErrCorrupt)
	}
	return err
}

// check verifies that the file is ours. An empty bbolt file (no bucket)
// passes with allowEmpty, and is initialised with create.
func (db *DB) check(allowEmpty, create bool) error {
	needInit := false
	err := db.view(func(tx *bolt.Tx) error {
		fi, err := os.Stat(db.path)
		if err != nil {
			return err
		}
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: file truncated (%d bytes, %d expected)", ErrCorrupt, fi.Size(), tx.Size())
		}
		if tx.Bucket(bucketMeta) == nil {
			if allowEmpty && isEmpty(tx) {
				needInit = create
				return nil
			}
			return fmt.Errorf("%w: no meta bucket", ErrCorrupt)
		}
		return checkLayout(tx)
	})
	if err != nil || !needInit {
		return err
	}
	return db.update(func(tx *bolt.Tx) (bool, error) {
		if tx.Bucket(bucketMeta) != nil { // initialised meanwhile: cannot happen under the flock
			return false, checkLayout(tx)
		}
		return true, initLayout(tx)
	})
}

// isEmpty tells whether the bbolt file has no bucket at all.
func isEmpty(tx *bolt.Tx) bool {
	errFound := errors.New("found")
	return tx.ForEach(func([]byte, *bolt.Bucket) error { return errFound }) == nil
}

func initLayout(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	puts := []struct{ k, v []byte }{
		{keyMagic, []byte(magic)},
		{keyVersion, binary.BigEndian.AppendUint32(nil, formatVersion)},
		{keyID, id},
		{keyTotals, encodeTotals(bayes.Totals{})},
		{keyFeatureTotals, encodeTotals(bayes.Totals{})},
		{keyGen, make([]byte, 8)},
	}
	for _, p := range puts {
		if err := meta.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// checkLayout verifies magic, version, buckets and meta values.
func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: no meta bucket", ErrCorrupt)
	}
	if m := meta.Get(keyMagic); !bytes.Equal(m, []byte(magic)) {
		return fmt.Errorf("%w: bad magic %q", ErrCorrupt, m)
	}
	v := meta.Get(keyVersion)
	if len(v) != 4 {
		return fmt.Errorf("%w: bad version", ErrCorrupt)
	}
	if n := binary.BigEndian.Uint32(v); n != formatVersion {
		return fmt.Errorf("%w: unsupported format version %d (want %d)", ErrCorrupt, n, formatVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: missing bucket %s", ErrCorrupt, name)
		}
	}
	if _, err := readState(tx); err != nil {
		return err
	}
	if _, err := readTotals(tx); err != nil {
		return err
	}
	_, err := readTotalsKey(tx, keyFeatureTotals)
	return err
}

// allBuckets are the buckets besides meta.
var allBuckets = [][]byte{bucketWords, bucketLedger, bucketFeatures, bucketModel, bucketVectors}

// state identifies the content of a file: the id fixed at creation and the
// generation. Two reads with the same state saw the same data.
type state struct {
	id  [16]byte
	gen uint64
}

func readState(tx *bolt.Tx) (state, error) {
	var st state
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return st, fmt.Errorf("%w: no meta bucket", ErrCorrupt)
	}
	id, gen := meta.Get(keyID), meta.Get(keyGen)
	if len(id) != len(st.id) || len(gen) != 8 {
		return st, fmt.Errorf("%w: bad id or generation", ErrCorrupt)
	}
	copy(st.id[:], id)
	st.gen = binary.BigEndian.Uint64(gen)
	return st, nil
}

func readTotals(tx *bolt.Tx) (bayes.Totals, error) { return readTotalsKey(tx, keyTotals) }

// readTotalsKey reads message totals stored under key in meta.
func readTotalsKey(tx *bolt.Tx, key []byte) (bayes.Totals, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return bayes.Totals{}, fmt.Errorf("%w: no meta bucket", ErrCorrupt)
	}
	v := meta.Get(key)
	if len(v) != 8 {
		return bayes.Totals{}, fmt.Errorf("%w: bad %s", ErrCorrupt, key)
	}
	return bayes.Totals{Good: binary.BigEndian.Uint32(v), Spam: binary.BigEndian.Uint32(v[4:])}, nil
}

func encodeTotals(t bayes.Totals) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(make([]byte, 0, 8), t.Good), t.Spam)
}

// bumpGeneration increments the generation; every committing write calls it.
func bumpGeneration(tx *bolt.Tx) error {
	st, err := readState(tx)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyGen, binary.BigEndian.AppendUint64(nil, st.gen+1))
}

// encodeCounts encodes a words value.
func encodeCounts(c bayes.Counts) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen32)
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(c.Good)), uint64(c.Spam))
}

// decodeCounts decodes a words value; nil (unknown word) is zero counts.
func decodeCounts(v []byte) (bayes.Counts, error) {
	if v == nil {
		return bayes.Counts{}, nil
	}
	g, n := binary.Uvarint(v)
	if n <= 0 || g > 1<<32-1 {
		return bayes.Counts{}, fmt.Errorf("%w: bad word value %x", ErrCorrupt, v)
	}
	s, m := binary.Uvarint(v[n:])
	if m <= 0 || s > 1<<32-1 || n+m != len(v) {
		return bayes.Counts{}, fmt.Errorf("%w: bad word value %x", ErrCorrupt, v)
	}
	return bayes.Counts{Good: uint32(g), Spam: uint32(s)}, nil
}

// validWord tells whether a word can be stored: bbolt's key limits, and
// nothing that would break a backup line.
func validWord(w string) bool {
	if len(w) == 0 || len(w) > maxWordLen {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] == ' ' || w[i] == '\n' {
			return false
		}
	}
	return true
}

// guard tracks whether code of the caller (a Walk callback, a Restore
// reader) is running, so that a panic there is not mistaken for a damaged
// file.
type guard struct{ inCaller bool }

// recoverCorrupt turns a bbolt panic or a memory fault into ErrCorrupt. It
// must be deferred directly (defer g.recoverCorrupt(&err)) for recover to
// work; g may be nil.
func (g *guard) recoverCorrupt(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if g != nil && g.inCaller {
		panic(r)
	}
	*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
}

// view runs fn in a read transaction; bbolt panics and faults become
// ErrCorrupt.
func (db *DB) view(fn func(*bolt.Tx) error) error {
	return db.viewGuarded(nil, fn)
}

func (db *DB) viewGuarded(g *guard, fn func(*bolt.Tx) error) (err error) {
	defer g.recoverCorrupt(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return db.bolt.View(fn)
}

// update runs fn in a write transaction and commits if fn returns true.
func (db *DB) update(fn func(*bolt.Tx) (bool, error)) error {
	return db.updateGuarded(nil, fn)
}

func (db *DB) updateGuarded(g *guard, fn func(*bolt.Tx) (bool, error)) (err error) {
	if db.readOnly {
		return errReadOnly
	}
	defer g.recoverCorrupt(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			if rerr := tx.Rollback(); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()
	commit, err := fn(tx)
	if err != nil || !commit {
		return err
	}
	committed = true
	return tx.Commit()
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("tokendb: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file name given to Open.
func (db *DB) Path() string { return db.path }
