package tokenize

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailsift/mailsift/internal/mail"
)

// corpusMessages loads the test side of the SpamAssassin split laid out by
// ../shared/corpus/prepare-sa.sh, or skips.
func corpusMessages(b *testing.B) ([][]byte, int) {
	root := os.Getenv("MAILSIFT_CORPUS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "mailsift-corpus")
	}
	var msgs [][]byte
	size := 0
	for _, list := range []string{"sa/test-ham.txt", "sa/test-spam.txt"} {
		f, err := os.Open(filepath.Join(root, list))
		if err != nil {
			b.Skipf("SpamAssassin corpus not found (%v): run make corpus", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			raw, err := os.ReadFile(filepath.Join(root, sc.Text()))
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, raw)
			size += len(raw)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return msgs, size
}

// BenchmarkCorpus parses and tokenizes the 1966 test mails of the
// SpamAssassin split, one mail per iteration: the CPU cost per mail of
// everything but reading files and looking words up.
func BenchmarkCorpus(b *testing.B) {
	msgs, size := corpusMessages(b)
	opts := DefaultOptions()
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, defects := opts.Message(mail.Parse(msgs[i%len(msgs)])); len(defects) > 1000 {
			b.Fatal("implausible")
		}
		i++
	}
}
