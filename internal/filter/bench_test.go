package filter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// corpusRoot is where make corpus lays out the SpamAssassin corpus.
func corpusRoot() string {
	if dir := os.Getenv("MAILSIFT_CORPUS"); dir != "" {
		return dir
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mailsift-corpus")
}

// corpusList reads the mails named in one list file of the SpamAssassin
// split, at most n of them (n <= 0: all), or skips.
func corpusList(b *testing.B, list string, n int) [][]byte {
	root := corpusRoot()
	names, err := os.ReadFile(filepath.Join(root, "sa", list))
	if err != nil {
		b.Skipf("SpamAssassin corpus not found (%v): run make corpus", err)
	}
	var mails [][]byte
	for _, rel := range strings.Fields(string(names)) {
		if n > 0 && len(mails) == n {
			break
		}
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, raw)
	}
	return mails
}

// BenchmarkClassify classifies the test mails of the SpamAssassin split,
// one mail per iteration, with the default classifier of a Live filter
// trained on part of the training side: what /v1/classify and mark spend
// on a mail once the database is in memory.
func BenchmarkClassify(b *testing.B) {
	tok := tokenize.DefaultOptions()
	train := map[tokendb.Class][][]byte{
		tokendb.Ham:  corpusList(b, "train-ham.txt", 300),
		tokendb.Spam: corpusList(b, "train-spam.txt", 300),
	}
	test := append(corpusList(b, "test-ham.txt", 0), corpusList(b, "test-spam.txt", 0)...)

	settings := Filter{Params: bayes.DefaultParams(), Fused: DefaultFused(), Tokens: tok}
	l := NewLive(filepath.Join(b.TempDir(), "tokens.db"), settings, 10*time.Second)
	for c, mails := range train {
		docs := make([]tokendb.Doc, len(mails))
		for i, raw := range mails {
			docs[i] = TrainingDoc(raw, tok)
		}
		if _, err := l.Train(c, docs); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := l.Refresh(); err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, raw := range test {
		size += len(raw)
	}
	b.SetBytes(int64(size / len(test)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.Classify(test[i%len(test)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
