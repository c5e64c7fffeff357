package logreg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpus returns 200 spam mails of the SpamAssassin split with their
// words as tokens, or skips.
func corpus(b *testing.B) (mails [][]byte, tokens [][]string) {
	root := os.Getenv("MAILSIFT_CORPUS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "mailsift-corpus")
	}
	list, err := os.ReadFile(filepath.Join(root, "sa", "test-spam.txt"))
	if err != nil {
		b.Skipf("SpamAssassin corpus not found (%v): run make corpus", err)
	}
	for _, rel := range strings.Fields(string(list))[:200] {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, raw)
		tokens = append(tokens, strings.Fields(string(raw)))
	}
	return mails, tokens
}

// BenchmarkFeatures hashes a typical message, its words as tokens and the
// 4-grams of its start: into sorted indices, as training stores them, and
// into distinct ones in first-seen order, as a classification sums them.
func BenchmarkFeatures(b *testing.B) {
	mails, tokens := corpus(b)
	p := DefaultParams()
	for _, bm := range []struct {
		name   string
		append func(dst []uint32, tokens []string, raw []byte) []uint32
	}{{"sorted", p.AppendFeatures}, {"distinct", p.AppendDistinct}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			var dst []uint32
			for i := 0; b.Loop(); i++ {
				dst = bm.append(dst[:0], tokens[i%len(mails)], mails[i%len(mails)])
			}
		})
	}
}
