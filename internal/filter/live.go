package filter

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// ErrNoDatabase is returned by Live's classification before a token
// database could be read.
var ErrNoDatabase = errors.New("no token database yet (train it first)")

// Live is the filter of a long-running service. It scores from an
// in-memory snapshot of the token database, so that classification takes
// no lock and other processes (mailsift train, mark) can use the file
// meanwhile. Refresh reads a new snapshot when the database's generation
// has moved; Train and Untrain write through to the file and leave the
// new snapshot to the next Refresh. Configure swaps the settings.
//
// Live is safe for concurrent use.
type Live struct {
	path    string
	timeout time.Duration

	mu  sync.Mutex // one Refresh, Configure, Train or Untrain at a time
	cur atomic.Pointer[liveState]
}

// liveState is what classification reads: the filter with its snapshot
// as Store (nil before a database was read) and the generation it holds.
type liveState struct {
	settings Filter // without Store
	f        *Filter
	gen      uint64
}

// NewLive returns a Live for the database at path with the settings of
// f (its Store is ignored); lockTimeout bounds every wait for the file.
// It reads nothing: call Refresh.
func NewLive(path string, f Filter, lockTimeout time.Duration) *Live {
	l := &Live{path: path, timeout: lockTimeout}
	f.Store = nil
	l.cur.Store(&liveState{settings: f})
	return l
}

// Path is the database file.
func (l *Live) Path() string { return l.path }

// Name is the active classifier, "default" or "spamoracle".
func (l *Live) Name() string { return l.cur.Load().settings.Name() }

// Ready tells whether a database has been read.
func (l *Live) Ready() bool { return l.cur.Load().f != nil }

// Filter returns the filter in force, nil before a database was read.
func (l *Live) Filter() *Filter { return l.cur.Load().f }

// Classify parses and scores one raw message.
func (l *Live) Classify(raw []byte) (Verdict, error) {
	return l.ClassifyMessage(mail.Parse(raw))
}

// ClassifyMessage scores a parsed message; it fails with ErrNoDatabase
// until a database was read.
func (l *Live) ClassifyMessage(m *mail.Message) (Verdict, error) {
	f := l.cur.Load().f
	if f == nil {
		return Verdict{}, fmt.Errorf("filter: %w", ErrNoDatabase)
	}
	return f.ClassifyMessage(m)
}

// Configure puts new settings in force (f's Store is ignored). A change
// of classifier reads a new snapshot, since each keeps its own part of
// the database; on error the old settings stay.
func (l *Live) Configure(f Filter) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f.Store = nil
	old := l.cur.Load()
	if old.f == nil || f.Name() != old.settings.Name() {
		next := &liveState{settings: f}
		if err := l.load(next); err != nil && !errors.Is(err, tokendb.ErrNotExist) {
			return err
		}
		l.cur.Store(next)
		return nil
	}
	nf := f
	nf.Store = old.f.Store
	l.cur.Store(&liveState{settings: f, f: &nf, gen: old.gen})
	return nil
}

// Refresh reads a new snapshot when the database changed since the last
// one, and tells whether it did. A missing database is no error: the
// filter keeps saying ErrNoDatabase until one appears.
func (l *Live) Refresh() (changed bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	db, err := tokendb.Open(l.path, tokendb.Options{ReadOnly: true, Timeout: l.timeout})
	if errors.Is(err, tokendb.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	gen, err := db.Generation()
	if err != nil || (old.f != nil && gen == old.gen) {
		return false, errors.Join(err, db.Close())
	}
	next := &liveState{settings: old.settings}
	err = l.snapshot(db, gen, next)
	if err = errors.Join(err, db.Close()); err != nil {
		return false, err
	}
	l.cur.Store(next)
	return true, nil
}

// load reads the database into st.
func (l *Live) load(st *liveState) error {
	db, err := tokendb.Open(l.path, tokendb.Options{ReadOnly: true, Timeout: l.timeout})
	if err != nil {
		return err
	}
	gen, err := db.Generation()
	if err == nil {
		err = l.snapshot(db, gen, st)
	}
	return errors.Join(err, db.Close())
}

// snapshot fills st.f from db at generation gen, with the part of it
// st's classifier uses.
func (l *Live) snapshot(db *tokendb.DB, gen uint64, st *liveState) error {
	var (
		snap *tokendb.Snapshot
		err  error
	)
	if st.settings.Name() == SpamOracle {
		snap, err = db.Snapshot(st.settings.Params.MinWordWeight)
	} else {
		snap, err = db.SnapshotModel()
	}
	if err != nil {
		return err
	}
	f := st.settings
	f.Store = snap
	st.f, st.gen = &f, gen
	return nil
}

// Train learns docs as class c, creating the database when missing.
// Classification sees it after the next Refresh.
func (l *Live) Train(c tokendb.Class, docs []tokendb.Doc) (tokendb.Result, error) {
	return l.write(true, func(db *tokendb.DB) (tokendb.Result, error) { return db.Train(c, docs) })
}

// Untrain forgets docs that were trained before.
func (l *Live) Untrain(docs []tokendb.Doc) (tokendb.Result, error) {
	return l.write(false, func(db *tokendb.DB) (tokendb.Result, error) { return db.Untrain(docs) })
}

func (l *Live) write(create bool, fn func(*tokendb.DB) (tokendb.Result, error)) (res tokendb.Result, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	db, err := tokendb.Open(l.path, tokendb.Options{Create: create, Timeout: l.timeout})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	return fn(db)
}

// Stats describes the database file (ErrNotExist when there is none).
func (l *Live) Stats() (tokendb.Stats, error) {
	db, err := tokendb.Open(l.path, tokendb.Options{ReadOnly: true, Timeout: l.timeout})
	if err != nil {
		return tokendb.Stats{}, err
	}
	st, err := db.Stats()
	return st, errors.Join(err, db.Close())
}
