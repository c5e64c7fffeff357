package tokendb_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
)

func Example() {
	dir, err := os.MkdirTemp("", "tokendb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tokens.db")

	// train: accumulate the messages in memory, apply them in one call.
	db, err := tokendb.Open(path, tokendb.Options{Create: true})
	if err != nil {
		log.Fatal(err)
	}
	spam := tokendb.Doc{Hash: sha256.Sum256([]byte("raw message 1")), Words: []string{"cheap", "pills", "cheap"}}
	ham := tokendb.Doc{Hash: sha256.Sum256([]byte("raw message 2")), Words: []string{"meeting", "cheap"}}
	res, err := db.Train(tokendb.Spam, []tokendb.Doc{spam, ham})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", res)
	// The second message was ham after all: it moves.
	if res, err = db.Train(tokendb.Ham, []tokendb.Doc{ham}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", res)
	if err := db.Backup(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}

	// test: a run over many messages scores from a snapshot, which leaves
	// the file free for training as soon as it is taken.
	db, err = tokendb.Open(path, tokendb.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	snap, err := db.Snapshot(1)
	if err := errors.Join(err, db.Close()); err != nil {
		log.Fatal(err)
	}
	words := []string{"cheap", "unknown"}
	out := make([]bayes.Counts, len(words))
	tot, err := snap.Lookup(words, out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out, tot)
	// Output:
	// {Learned:2 Moved:0 Skipped:0 Unlearned:0 Reinforced:0}
	// {Learned:0 Moved:1 Skipped:0 Unlearned:0 Reinforced:0}
	// SPAMORACLE/1 1 1
	// cheap 1 2
	// meeting 1 0
	// pills 0 1
	// [{1 2} {0 0}] {1 1}
}
