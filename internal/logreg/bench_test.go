package logreg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFeatures hashes a typical message: its words as tokens and
// the 4-grams of its start.
func BenchmarkFeatures(b *testing.B) {
	root := os.Getenv("MAILSIFT_CORPUS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "mailsift-corpus")
	}
	list, err := os.ReadFile(filepath.Join(root, "sa", "test-spam.txt"))
	if err != nil {
		b.Skipf("SpamAssassin corpus not found (%v): run make corpus", err)
	}
	var mails [][]byte
	var tokens [][]string
	for _, rel := range strings.Fields(string(list))[:200] {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, raw)
		tokens = append(tokens, strings.Fields(string(raw)))
	}
	p := DefaultParams()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Features(tokens[i%len(mails)], mails[i%len(mails)])
		i++
	}
}
