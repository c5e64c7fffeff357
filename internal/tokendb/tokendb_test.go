package tokendb

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

// newDB creates a fresh database under t.TempDir (in a subdirectory, to
// exercise Create) and closes it at the end of the test.
func newDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "sub", "tokens.db"), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func hashOf(id string) [32]byte { return sha256.Sum256([]byte(id)) }

func doc(id string, words ...string) Doc { return Doc{Hash: hashOf(id), Words: words} }

// dump returns the backup text of db.
func dump(t testing.TB, db *DB) string {
	t.Helper()
	var b strings.Builder
	if err := db.Backup(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func generation(t testing.TB, db *DB) uint64 {
	t.Helper()
	s, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.Generation
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Ham: "ham", Spam: "spam", 0: "class(0)", 7: "class(7)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", uint8(c), got, want)
		}
	}
}

func TestOpenCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "tokens.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if g := generation(t, db); g != 0 {
		t.Errorf("new database: generation %d, want 0", g)
	}
	if tot, err := db.Totals(); err != nil || tot != (bayes.Totals{}) {
		t.Errorf("new database: Totals() = %v, %v", tot, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{dir: 0o700 | fs.ModeDir, path: 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	// Reopen without Create, and read-only.
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		db, err := Open(path, opts)
		if err != nil {
			t.Fatalf("reopen %+v: %v", opts, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	// The open writer of newDB holds the file: even in the same process, a
	// second open is refused (flock conflicts between descriptors).
	path := newDB(t).Path()
	if db, err := Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("read-only open while a writer holds the file: %v, want ErrLocked", err)
	}

	path = filepath.Join(t.TempDir(), "ro.db")
	w, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Train(Spam, []Doc{doc("m", "w")}); !errors.Is(err, errReadOnly) {
		t.Errorf("Train on read-only: %v, want errReadOnly", err)
	}
	if _, err := ro.Restore(strings.NewReader("SPAMORACLE/1 0 0\n")); !errors.Is(err, errReadOnly) {
		t.Errorf("Restore on read-only: %v, want errReadOnly", err)
	}
}

// writeFile writes data to a new file in a temp dir and returns its path.
func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// boltFile makes a bbolt file prepared by fn.
func boltFile(t *testing.T, fn func(*bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// bigDB makes a closed database with n words and returns its path.
func bigDB(t *testing.T, n int) string {
	t.Helper()
	db := newDB(t)
	words := make([]string, n)
	for i := range words {
		words[i] = "word" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
	}
	if _, err := db.Train(Spam, []Doc{{Hash: hashOf("big"), Words: words}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return db.Path()
}

func TestOpenErrors(t *testing.T) {
	garbage := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	setMeta := func(key, val []byte) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			if err := initLayout(tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(key, val)
		}
	}
	big := bigDB(t, 20000)
	whole, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) < 256<<10 {
		t.Fatalf("big database only %d bytes", len(whole))
	}
	// The file may be longer than the pages in use (bbolt preallocates).
	var used int64
	bdb, err := bolt.Open(big, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		opts Options
		want error
	}{
		{"missing", filepath.Join(t.TempDir(), "none.db"), Options{}, ErrNotExist},
		{"missing read-only with create", filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true, Create: true}, ErrNotExist},
		{"garbage", writeFile(t, garbage), Options{}, ErrCorrupt},
		{"garbage read-only", writeFile(t, garbage), Options{ReadOnly: true}, ErrCorrupt},
		{"short garbage", writeFile(t, []byte("hello, world\n")), Options{}, ErrCorrupt},
		{"empty file read-only", writeFile(t, nil), Options{ReadOnly: true}, ErrCorrupt},
		{"empty file", writeFile(t, nil), Options{}, ErrCorrupt},
		{"bbolt without meta", boltFile(t, func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("foo"))
			return err
		}), Options{Create: true}, ErrCorrupt},
		{"empty bbolt", boltFile(t, func(*bolt.Tx) error { return nil }), Options{}, ErrCorrupt},
		{"empty bbolt read-only", boltFile(t, func(*bolt.Tx) error { return nil }), Options{ReadOnly: true, Create: true}, ErrCorrupt},
		{"bad magic", boltFile(t, setMeta(keyMagic, []byte("spamoracle"))), Options{}, ErrCorrupt},
		{"future version", boltFile(t, setMeta(keyVersion, []byte{0, 0, 0, 3})), Options{ReadOnly: true}, ErrCorrupt},
		{"older version", boltFile(t, setMeta(keyVersion, []byte{0, 0, 0, 1})), Options{ReadOnly: true}, ErrCorrupt},
		{"missing model bucket", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx); err != nil {
				return err
			}
			return tx.DeleteBucket(bucketModel)
		}), Options{}, ErrCorrupt},
		{"bad totals", boltFile(t, setMeta(keyTotals, []byte{1})), Options{}, ErrCorrupt},
		{"missing words bucket", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx); err != nil {
				return err
			}
			return tx.DeleteBucket(bucketWords)
		}), Options{}, ErrCorrupt},
		{"truncated to 100 bytes", writeFile(t, whole[:100]), Options{}, ErrCorrupt},
		{"truncated after meta pages", writeFile(t, whole[:3*4096]), Options{}, ErrCorrupt},
		{"truncated to half", writeFile(t, whole[:used/2]), Options{}, ErrCorrupt},
		{"truncated to half read-only", writeFile(t, whole[:used/2]), Options{ReadOnly: true}, ErrCorrupt},
		{"last used page cut", writeFile(t, whole[:used-4096]), Options{}, ErrCorrupt},
		{"last used page cut read-only", writeFile(t, whole[:used-4096]), Options{ReadOnly: true}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 200 * time.Millisecond
			db, err := Open(tt.path, tt.opts)
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded, want %v", tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			t.Logf("Open: %v", err)
			if !strings.HasPrefix(err.Error(), "tokendb: open "+tt.path+": ") {
				t.Errorf("error %q lacks the operation prefix", err)
			}
			// The failed open released the lock: a second open fails the same way, not with ErrLocked.
			if _, err := Open(tt.path, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("second Open: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.db"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v does not match fs.ErrNotExist", err)
	}
	// An empty bbolt file is adopted with Create.
	path := boltFile(t, func(*bolt.Tx) error { return nil })
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatalf("empty bbolt with Create: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// And the intact big file still opens.
	db, err = Open(big, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("intact file: %v", err)
	}
	if s, err := db.Stats(); err != nil || s.Words != 20000 {
		t.Errorf("intact file: Stats() = %+v, %v; want 20000 words", s, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// step is one operation of TestTrain and the state expected after it.
type step struct {
	name    string
	untrain bool
	class   Class
	docs    []Doc
	want    Result
	totals  bayes.Totals
	words   string // backup lines after the header
	changed bool   // generation advanced
}

func TestTrain(t *testing.T) {
	steps := []step{
		{name: "learn spam", class: Spam, docs: []Doc{doc("m1", "a", "a", "b")},
			want: Result{Learned: 1}, totals: bayes.Totals{Spam: 1}, words: "a 0 2\nb 0 1\n", changed: true},
		{name: "same class again is a no-op", class: Spam, docs: []Doc{doc("m1", "a", "a", "b")},
			want: Result{Skipped: 1}, totals: bayes.Totals{Spam: 1}, words: "a 0 2\nb 0 1\n"},
		{name: "nothing to train", class: Ham,
			totals: bayes.Totals{Spam: 1}, words: "a 0 2\nb 0 1\n"},
		{name: "move to ham", class: Ham, docs: []Doc{doc("m1", "a", "a", "b")},
			want: Result{Moved: 1}, totals: bayes.Totals{Good: 1}, words: "a 2 0\nb 1 0\n", changed: true},
		{name: "duplicate in one call", class: Ham, docs: []Doc{doc("m2", "b", "c"), doc("m2", "b", "c")},
			want: Result{Learned: 1, Skipped: 1}, totals: bayes.Totals{Good: 2}, words: "a 2 0\nb 2 0\nc 1 0\n", changed: true},
		{name: "learn and move in one call", class: Spam, docs: []Doc{doc("m3", "d"), doc("m2", "b", "c")},
			want: Result{Learned: 1, Moved: 1}, totals: bayes.Totals{Good: 1, Spam: 2}, words: "a 2 0\nb 1 1\nc 0 1\nd 0 1\n", changed: true},
		{name: "untrain known and unknown", untrain: true, docs: []Doc{doc("m1", "a", "a", "b"), doc("nope", "a")},
			want: Result{Unlearned: 1, Skipped: 1}, totals: bayes.Totals{Spam: 2}, words: "b 0 1\nc 0 1\nd 0 1\n", changed: true},
		{name: "untrain unknown is a no-op", untrain: true, docs: []Doc{doc("m1", "b")},
			want: Result{Skipped: 1}, totals: bayes.Totals{Spam: 2}, words: "b 0 1\nc 0 1\nd 0 1\n"},
		{name: "untrain saturates at zero", untrain: true, docs: []Doc{doc("m2", "b", "b", "b", "c", "x")},
			want: Result{Unlearned: 1}, totals: bayes.Totals{Spam: 1}, words: "d 0 1\n", changed: true},
		{name: "untrain twice in one call", untrain: true, docs: []Doc{doc("m3", "d"), doc("m3", "d")},
			want: Result{Unlearned: 1, Skipped: 1}, words: "", changed: true},
		{name: "unstorable words are ignored", class: Ham, docs: []Doc{doc("m4", "", "has space", "new\nline", strings.Repeat("y", maxWordLen+1), "ok", "tab\there", "cr\r", "été")},
			want: Result{Learned: 1}, totals: bayes.Totals{Good: 1}, words: "cr\r 1 0\nok 1 0\ntab\there 1 0\nété 1 0\n", changed: true},
	}
	db := newDB(t)
	for _, s := range steps {
		before := generation(t, db)
		var (
			res Result
			err error
		)
		if s.untrain {
			res, err = db.Untrain(s.docs)
		} else {
			res, err = db.Train(s.class, s.docs)
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res != s.want {
			t.Errorf("%s: result %+v, want %+v", s.name, res, s.want)
		}
		tot, err := db.Totals()
		if err != nil {
			t.Fatal(err)
		}
		if tot != s.totals {
			t.Errorf("%s: totals %+v, want %+v", s.name, tot, s.totals)
		}
		header := "SPAMORACLE/1 " + itoaDec(s.totals.Good) + " " + itoaDec(s.totals.Spam) + "\n"
		if got := dump(t, db); got != header+s.words {
			t.Errorf("%s: backup\n%q\nwant\n%q", s.name, got, header+s.words)
		}
		if after := generation(t, db); (after != before) != s.changed || (s.changed && after != before+1) {
			t.Errorf("%s: generation %d -> %d, changed want %v", s.name, before, after, s.changed)
		}
	}

	for id, want := range map[string]Class{"m1": 0, "m2": 0, "m3": 0, "m4": Ham, "nope": 0} {
		c, ok, err := db.TrainedAs(hashOf(id))
		if err != nil || c != want || ok != (want != 0) {
			t.Errorf("TrainedAs(%s) = %v, %v, %v; want %v", id, c, ok, err, want)
		}
	}
	if _, err := db.Train(0, []Doc{doc("x", "y")}); err == nil || !strings.Contains(err.Error(), "invalid class") {
		t.Errorf("Train(0): %v, want invalid class", err)
	}
}

func itoaDec(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestTrainSaturatesAtMax(t *testing.T) {
	db := newDB(t)
	if _, err := db.Restore(strings.NewReader("SPAMORACLE/1 4294967295 3\nw 4294967294 0\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Train(Ham, []Doc{doc("m", "w", "w", "w")}); err != nil {
		t.Fatal(err)
	}
	want := "SPAMORACLE/1 4294967295 3\nw 4294967295 0\n"
	if got := dump(t, db); got != want {
		t.Errorf("backup %q, want %q", got, want)
	}
}

func TestLookup(t *testing.T) {
	db := newDB(t)
	if _, err := db.Train(Spam, []Doc{doc("s", "cheap", "cheap", "pills")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Train(Ham, []Doc{doc("h", "meeting", "cheap")}); err != nil {
		t.Fatal(err)
	}
	words := []string{"cheap", "unknown", "meeting", "", "pills", "cheap"}
	out := make([]bayes.Counts, len(words)+1)
	out[len(words)] = bayes.Counts{Good: 9, Spam: 9} // beyond words: untouched
	for i := range out[:len(words)] {
		out[i] = bayes.Counts{Good: 7, Spam: 7} // overwritten, zero for unknown words
	}
	tot, err := db.Lookup(words, out)
	if err != nil {
		t.Fatal(err)
	}
	if tot != (bayes.Totals{Good: 1, Spam: 1}) {
		t.Errorf("totals %+v", tot)
	}
	want := []bayes.Counts{{Good: 1, Spam: 2}, {}, {Good: 1}, {}, {Spam: 1}, {Good: 1, Spam: 2}, {Good: 9, Spam: 9}}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("out[%d] = %+v, want %+v", i, out[i], want[i])
		}
	}
	if _, err := db.Lookup(words, out[:2]); err == nil {
		t.Error("Lookup with a short out slice succeeded")
	}
}

func TestWalk(t *testing.T) {
	db := newDB(t)
	if _, err := db.Train(Spam, []Doc{doc("s", "b", "a", "c", "a", "é")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := db.Walk(func(w string, c bayes.Counts) error {
		got = append(got, w+":"+itoaDec(c.Spam))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a:2 b:1 c:1 é:1"; strings.Join(got, " ") != want {
		t.Errorf("Walk visited %q, want %q", strings.Join(got, " "), want)
	}

	stop := errors.New("stop")
	n := 0
	err = db.Walk(func(string, bayes.Counts) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("Walk stopped with %v after %d words, want stop after 2", err, n)
	}

	defer func() {
		if r := recover(); r != "callback panic" {
			t.Errorf("recovered %v, want the callback's own panic", r)
		}
		// The read transaction was released: a write still works.
		if _, err := db.Train(Ham, []Doc{doc("h", "z")}); err != nil {
			t.Errorf("Train after a panicking Walk: %v", err)
		}
	}()
	_ = db.Walk(func(string, bayes.Counts) error { panic("callback panic") })
	t.Error("Walk did not propagate the callback's panic")
}

func TestStats(t *testing.T) {
	db := newDB(t)
	if _, err := db.Train(Spam, []Doc{doc("1", "a", "b"), doc("2", "b", "c")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Train(Ham, []Doc{doc("3", "d")}); err != nil {
		t.Fatal(err)
	}
	s, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	// The size is what the pages in use take, not the sparse room bbolt
	// grew the file by.
	if s.FileSize <= 0 || s.FileSize > fi.Size() || s.FileSize > 1<<20 || s.FileSize%int64(os.Getpagesize()) != 0 {
		t.Errorf("FileSize %d for a file of %d bytes holding four words", s.FileSize, fi.Size())
	}
	want := Stats{Words: 4, Ledger: 3, FileSize: s.FileSize, Generation: 2, Totals: bayes.Totals{Good: 1, Spam: 2}}
	if s != want {
		t.Errorf("Stats() = %+v, want %+v", s, want)
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src := newDB(t)
	if _, err := src.Train(Spam, []Doc{doc("s1", "free", "money", "free", "€uro"), doc("s2", "free", "cr\rin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Train(Ham, []Doc{doc("h1", "meeting", "money", "日本語")}); err != nil {
		t.Fatal(err)
	}
	text := dump(t, src)
	want := "SPAMORACLE/1 1 2\ncr\rin 0 1\nfree 0 3\nmeeting 1 0\nmoney 1 1\n€uro 0 1\n日本語 1 0\n" // € is E2 82 AC, 日 E6 97 A5
	if text != want {
		t.Fatalf("backup\n%q\nwant\n%q", text, want)
	}

	dst := newDB(t)
	if _, err := dst.Train(Ham, []Doc{doc("old", "stale")}); err != nil {
		t.Fatal(err)
	}
	gen := generation(t, dst)
	n, err := dst.Restore(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("Restore stored %d words, want 6", n)
	}
	if got := dump(t, dst); got != text {
		t.Errorf("backup after restore\n%q\nwant\n%q", got, text)
	}
	if g := generation(t, dst); g != gen+1 {
		t.Errorf("generation %d after restore, want %d", g, gen+1)
	}
	if _, ok, err := dst.TrainedAs(hashOf("old")); err != nil || ok {
		t.Errorf("ledger not cleared by restore: %v, %v", ok, err)
	}
	if s, err := dst.Stats(); err != nil || s.Ledger != 0 || s.Words != 6 {
		t.Errorf("Stats() after restore = %+v, %v", s, err)
	}
}

func TestRestoreSpamOracleDump(t *testing.T) {
	// Hash order as SpamOracle writes it, CRLF line ends (tolerated), a
	// duplicate (the last wins), a zero-count word (dropped), no final newline.
	in := "SPAMORACLE/1 4 4\r\nthe 24 1\r\nclick 0 7\r\n$$$ 0 1\r\nzero 0 0\r\nclick 0 8\r\nU4 0 5"
	db := newDB(t)
	n, err := db.Restore(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("Restore stored %d words, want 4", n)
	}
	want := "SPAMORACLE/1 4 4\n$$$ 0 1\nU4 0 5\nclick 0 8\nthe 24 1\n"
	if got := dump(t, db); got != want {
		t.Errorf("backup\n%q\nwant\n%q", got, want)
	}
}

func TestRestoreErrors(t *testing.T) {
	long := strings.Repeat("a", maxLine+10)
	tests := []struct {
		in, want string
	}{
		{"", "first line missing"},
		{"BAD 1 2\n", "wrong version"},
		{"\n", "wrong version"},
		{"SPAMORACLE/2 1 2\n", "wrong version"},
		{"SPAMORACLE/1 1\n", "wrong version"},
		{"SPAMORACLE/1 1 x\n", "wrong version"},
		{"SPAMORACLE/1 1 2 3\n", "wrong version"},
		{"SPAMORACLE/1 -1 2\n", "wrong version"},
		{"SPAMORACLE/1 4294967296 0\n", "wrong version"},
		{"spamoracle/1 1 2\n", "wrong version"},
		{"SPAMORACLE/1 " + long + "\n", "wrong version"},
		{"SPAMORACLE/1 1 2\nfoo 1\n", "ill-formed line 2: `foo 1'"},
		{"SPAMORACLE/1 1 2\nok 1 2\nfoo 1 x\n", "ill-formed line 3: `foo 1 x'"},
		{"SPAMORACLE/1 1 2\nfoo 1 2 3\n", "ill-formed line 2: `foo 1 2 3'"},
		{"SPAMORACLE/1 1 2\nfoo -1 2\n", "ill-formed line 2: `foo -1 2'"},
		{"SPAMORACLE/1 1 2\nfoo +1 2\n", "ill-formed line 2: `foo +1 2'"},
		{"SPAMORACLE/1 1 2\nfoo 1 4294967296\n", "ill-formed line 2: `foo 1 4294967296'"},
		{"SPAMORACLE/1 1 2\nfoo 1  2\n", "ill-formed line 2: `foo 1  2'"},
		{"SPAMORACLE/1 1 2\n 1 2\n", "ill-formed line 2: ` 1 2'"},
		{"SPAMORACLE/1 1 2\nok 1 2\n\nok 1 2\n", "ill-formed line 3: `'"},
		{"SPAMORACLE/1 1 2\nfoo 1 2\r\r\n", "ill-formed line 2: `foo 1 2\r'"},
		{"SPAMORACLE/1 1 2\n" + long + " 1 2\n", "ill-formed line 2: `" + long[:maxShownLine] + "...'"},
		{"SPAMORACLE/1 1 2\n" + strings.Repeat("b", maxWordLen+1) + " 1 2\n", "ill-formed line 2: `" + strings.Repeat("b", maxShownLine) + "...'"},
	}
	db := newDB(t)
	if _, err := db.Train(Spam, []Doc{doc("keep", "kept")}); err != nil {
		t.Fatal(err)
	}
	before, gen := dump(t, db), generation(t, db)
	for _, tt := range tests {
		n, err := db.Restore(strings.NewReader(tt.in))
		if err == nil {
			t.Errorf("Restore(%.40q) succeeded", tt.in)
			continue
		}
		if want := "tokendb: restore: " + tt.want; err.Error() != want {
			t.Errorf("Restore(%.40q): %q, want %q", tt.in, err, want)
		}
		if n != 0 {
			t.Errorf("Restore(%.40q) = %d words with an error", tt.in, n)
		}
	}
	if after := dump(t, db); after != before || generation(t, db) != gen {
		t.Errorf("failed restores changed the database:\n%q\nwas\n%q", after, before)
	}
	if _, ok, err := db.TrainedAs(hashOf("keep")); !ok || err != nil {
		t.Errorf("failed restores cleared the ledger: %v, %v", ok, err)
	}
}

func TestRestoreLargeStreaming(t *testing.T) {
	// A lazily generated input larger than any buffer: Restore must stream.
	const n = 50000
	r := &genReader{n: n}
	db := newDB(t)
	got, err := db.Restore(r)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("Restore stored %d words, want %d", got, n)
	}
	out := make([]bayes.Counts, 1)
	if _, err := db.Lookup([]string{"w00049999"}, out); err != nil || out[0] != (bayes.Counts{Good: 49999 % 13, Spam: 1}) {
		t.Errorf("last word = %+v, %v", out[0], err)
	}
}

// genReader produces "SPAMORACLE/1 1 1" then n lines "w%08d i%13 1".
type genReader struct {
	n, i int
	buf  bytes.Buffer
}

func (g *genReader) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i <= g.n {
		if g.i == 0 {
			g.buf.WriteString("SPAMORACLE/1 1 1\n")
		} else {
			k := g.i - 1
			w := []byte("w00000000")
			for j, v := len(w)-1, k; v > 0; j, v = j-1, v/10 {
				w[j] = byte('0' + v%10)
			}
			g.buf.Write(w)
			g.buf.WriteString(" " + itoaDec(uint32(k%13)) + " 1\n")
		}
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

// failingReader returns its text, then err or a panic.
type failingReader struct {
	text  string
	err   error
	panic bool
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.text != "" {
		n := copy(p, f.text)
		f.text = f.text[n:]
		return n, nil
	}
	if f.panic {
		panic("reader panic")
	}
	return 0, f.err
}

func TestRestoreReaderFailure(t *testing.T) {
	db := newDB(t)
	mustTrain(t, db, Spam, doc("keep", "kept"))
	before := dump(t, db)

	readErr := errors.New("disk on fire")
	_, err := db.Restore(&failingReader{text: "SPAMORACLE/1 1 1\nnew 1 1\n", err: readErr})
	if !errors.Is(err, readErr) || !strings.HasPrefix(err.Error(), "tokendb: restore: ") {
		t.Errorf("Restore with a failing reader: %v", err)
	}
	if got := dump(t, db); got != before {
		t.Errorf("failed restore changed the database: %q", got)
	}

	func() {
		defer func() {
			if r := recover(); r != "reader panic" {
				t.Errorf("recovered %v, want the reader's own panic", r)
			}
		}()
		_, _ = db.Restore(&failingReader{text: "SPAMORACLE/1 1 1\nnew 1 1\n", panic: true})
		t.Error("Restore did not propagate the reader's panic")
	}()
	// The write transaction was rolled back and released.
	mustTrain(t, db, Ham, doc("after", "kept"))
	if got, want := dump(t, db), "SPAMORACLE/1 1 1\nkept 1 1\n"; got != want {
		t.Errorf("after the panicking restore: %q, want %q", got, want)
	}
}

func closedDB(t *testing.T, fn func(*DB)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
func mustTrain(t testing.TB, db *DB, c Class, docs ...Doc) {
	t.Helper()
	if _, err := db.Train(c, docs); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshot(t *testing.T) {
	db := newDB(t)
	mustTrain(t, db, Spam, doc("s1", "cheap", "cheap", "cheap", "pills", "rare"), doc("s2", "cheap", "cheap"))
	mustTrain(t, db, Ham, doc("h1", "meeting", "meeting", "meeting", "cheap"))
	s, err := db.Snapshot(5)
	if err != nil {
		t.Fatal(err)
	}
	// Weights: cheap 2·1+5 = 7, meeting 6, pills 1, rare 1.
	if s.Len() != 2 {
		t.Errorf("snapshot holds %d words, want 2", s.Len())
	}
	words := []string{"cheap", "meeting", "pills", "unknown"}
	out := make([]bayes.Counts, len(words))
	tot, err := s.Lookup(words, out)
	if err != nil || tot != (bayes.Totals{Good: 1, Spam: 2}) {
		t.Fatalf("totals %+v, %v", tot, err)
	}
	want := []bayes.Counts{{Good: 1, Spam: 5}, {Good: 3}, {}, {}}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("%s = %+v, want %+v", words[i], out[i], want[i])
		}
	}
	// Later training does not change a snapshot.
	mustTrain(t, db, Spam, doc("s3", "meeting", "meeting", "meeting"))
	if _, err := s.Lookup(words, out); err != nil || out[1] != (bayes.Counts{Good: 3}) {
		t.Errorf("snapshot changed: %+v", out[1])
	}
	if _, err := s.Lookup(words, out[:1]); err == nil {
		t.Error("short out slice accepted")
	}
}

func TestNewDoc(t *testing.T) {
	toks := []string{"free", "money", "free", "now", "free", "money"}
	d := NewDoc(hashOf("m"), toks)
	if !slices.Equal(d.Words, []string{"free", "money", "now"}) || !slices.Equal(d.Counts, []uint32{3, 2, 1}) {
		t.Fatalf("NewDoc = %v %v", d.Words, d.Counts)
	}
	// Trained, it counts the same as the tokens with repeats.
	a, b := newDB(t), newDB(t)
	mustTrain(t, a, Spam, d)
	mustTrain(t, b, Spam, Doc{Hash: hashOf("m"), Words: toks})
	var da, db strings.Builder
	if err := errors.Join(a.Backup(&da), b.Backup(&db)); err != nil {
		t.Fatal(err)
	}
	if da.String() != db.String() || !strings.Contains(da.String(), "free 0 3\n") {
		t.Errorf("counted and repeated docs differ:\n%s\n%s", da.String(), db.String())
	}
	// Untraining a counted doc removes it entirely.
	if r, err := a.Untrain([]Doc{d}); err != nil || r.Unlearned != 1 {
		t.Fatalf("untrain: %+v %v", r, err)
	}
	if s, err := a.Stats(); err != nil || s.Words != 0 || s.Totals != (bayes.Totals{}) {
		t.Errorf("after untrain: %+v %v", s, err)
	}
}
