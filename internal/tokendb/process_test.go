package tokendb

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The multi-process tests re-execute the test binary with helperRole set:
// TestMain then runs the helper instead of the tests. Helpers talk to the
// parent through stdout lines and read go-ahead lines from stdin.
const (
	helperRole = "TOKENDB_TEST_HELPER"
	helperPath = "TOKENDB_TEST_PATH"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		os.Exit(runHelper(role, os.Getenv(helperPath)))
	}
	os.Exit(m.Run())
}

func runHelper(role, path string) int {
	var err error
	switch role {
	case "hold-writer":
		err = helperHoldWriter(path)
	case "writer":
		err = helperWriter(path)
	case "crash-trainer":
		err = helperCrashTrainer(path)
	default:
		err = fmt.Errorf("unknown helper role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// helperHoldWriter opens path for writing, says "locked", waits for a line
// on stdin, keeps the file 300ms more, trains one message and closes.
func helperHoldWriter(path string) error {
	db, err := Open(path, Options{Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	fmt.Println("locked")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := db.Train(Spam, []Doc{doc("from-child", "child")}); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Println("released")
	return nil
}

// helperWriter opens path for writing within 5s, trains, closes, and
// reports how long it waited for the lock.
func helperWriter(path string) error {
	start := time.Now()
	db, err := Open(path, Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	waited := time.Since(start)
	if _, err := db.Train(Ham, []Doc{doc("from-writer", "written")}); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Println("trained", waited.Milliseconds())
	return nil
}

// helperCrashTrainer trains crashBatch(g), crashBatch(g+1)... in a loop, where
// g is the generation found, and says "committed N" after each commit, until
// it is killed.
func helperCrashTrainer(path string) error {
	db, err := Open(path, Options{Create: true, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	st, err := db.Stats()
	if err != nil {
		return err
	}
	for i := int(st.Generation); ; i++ {
		c, docs := crashBatch(i)
		if _, err := db.Train(c, docs); err != nil {
			return err
		}
		fmt.Println("committed", i+1)
	}
}

const (
	crashDocs  = 400
	crashWords = 60
	crashVocab = 20000
)

// crashBatch is the i-th batch of the crash test, a pure function of i.
// Every third batch retrains the previous one as the other class (moves).
func crashBatch(i int) (Class, []Doc) {
	if i%3 == 2 {
		c, docs := crashBatch(i - 1)
		return c.other(), docs
	}
	c := Spam
	if i%2 == 1 {
		c = Ham
	}
	docs := make([]Doc, crashDocs)
	for d := range docs {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(i)), uint64(d)))
		r := rand.New(rand.NewPCG(uint64(i), uint64(d)))
		words := make([]string, crashWords)
		for j := range words {
			words[j] = "t" + strconv.Itoa(r.IntN(crashVocab))
		}
		docs[d] = Doc{Hash: h, Words: words}
	}
	return c, docs
}

// helper starts the test binary as helper role on path, with pipes.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHelper(t *testing.T, role, path string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRole+"="+role, helperPath+"="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // our own child, by its id
			_ = cmd.Wait()
		}
	})
	return h
}

// line returns the helper's next stdout line, failing if it ends first.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	if !h.out.Scan() {
		t.Fatalf("helper ended without output (%v)", h.out.Err())
	}
	return h.out.Text()
}

func (h *helper) wait(t *testing.T) {
	t.Helper()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper failed: %v", err)
	}
}

// TestReaderWaitsForWriterProcess: while another process holds the file
// for writing, a read-only open times out; given a longer timeout, it
// succeeds after the writer releases, and then sees what the writer wrote.
func TestReaderWaitsForWriterProcess(t *testing.T) {
	path := closedDB(t, func(db *DB) { mustTrain(t, db, Ham, doc("h", "parent")) })
	h := startHelper(t, "hold-writer", path)
	if got := h.line(t); got != "locked" {
		t.Fatalf("helper said %q", got)
	}
	// The writer waits for our go-ahead: the file is certainly held.
	if db, err := Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("read-only open while another process writes: %v, want ErrLocked", err)
	}
	if _, err := io.WriteString(h.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("read-only open after the writer: %v", err)
	}
	defer db.Close()
	// Ordering: the open returned after the writer's commit.
	if c, ok, err := db.TrainedAs(hashOf("from-child")); err != nil || !ok || c != Spam {
		t.Errorf("writer's message: %v, %v, %v; the open did not wait for the writer", c, ok, err)
	}
	if got := h.line(t); got != "released" {
		t.Errorf("helper said %q", got)
	}
	h.wait(t)
}

func TestCrashDuringTraining(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "crash.db")
	committed := 0
	for round := range 2 {
		h := startHelper(t, "crash-trainer", path)
		// Let it commit at least twice, then kill it at a random moment.
		for n := 0; n < 2; n++ {
			line := h.line(t)
			v, err := strconv.Atoi(strings.TrimPrefix(line, "committed "))
			if err != nil {
				t.Fatalf("helper said %q", line)
			}
			committed = v
		}
		time.Sleep(time.Duration(r.IntN(80)) * time.Millisecond)
		if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := h.cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: helper ended with %v before the kill", round, err)
		}
		checkCrashState(t, path, committed)
	}
}

// checkCrashState verifies the database at path after a kill. At least
// minGen batches were reported committed.
func checkCrashState(t *testing.T, path string, minGen int) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer db.Close()
	gen := int(generation(t, db))
	if gen < minGen {
		t.Fatalf("generation %d after kill, but %d batches were reported committed", gen, minGen)
	}
	tot, err := db.Totals()
	if err != nil {
		t.Fatal(err)
	}
	var perClass [3]uint32
	err = db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedger).ForEach(func(_, v []byte) error {
			c, err := decodeClass(v)
			perClass[c]++
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if perClass[Ham] != tot.Good || perClass[Spam] != tot.Spam {
		t.Errorf("ledger has %d ham, %d spam; totals %+v", perClass[Ham], perClass[Spam], tot)
	}

	replay := newDB(t)
	for i := range gen {
		c, docs := crashBatch(i)
		mustTrain(t, replay, c, docs...)
	}
	if got, want := dump(t, db), dump(t, replay); got != want {
		t.Errorf("after kill at generation %d the words differ from a replay of %d batches", gen, gen)
	}
	s1, err1 := db.Stats()
	s2, err2 := replay.Stats()
	if err1 != nil || err2 != nil || s1.Ledger != s2.Ledger || s1.Words != s2.Words || s1.Totals != s2.Totals {
		t.Errorf("stats after kill %+v (%v), replay %+v (%v)", s1, err1, s2, err2)
	}
	t.Logf("killed at generation %d (%d reported): %d words, %d ledger entries", gen, minGen, s1.Words, s1.Ledger)
}
