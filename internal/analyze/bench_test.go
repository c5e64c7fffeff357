package analyze

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkFixtures analyses each fixture of testdata/analyze in turn.
func BenchmarkFixtures(b *testing.B) {
	var mails [][]byte
	for _, p := range fixtures(b) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, data)
	}
	e := newEngine(b, testConfig(), Options{PDFCacheDir: pdfCache(b)})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Analyze(ctx, mails[i%len(mails)], "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// corpusDir is where make corpus lays out the SpamAssassin corpus.
func corpusDir() string {
	if dir := os.Getenv("MAILSIFT_CORPUS"); dir != "" {
		return dir
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mailsift-corpus")
}

// BenchmarkCorpus analyses the SpamAssassin corpus on every core, with and
// without fuzzy hashes, and reports mails per second.
func BenchmarkCorpus(b *testing.B) {
	dir := corpusDir()
	list, err := os.ReadFile(filepath.Join(dir, "sa", "test-ham.txt"))
	if err != nil {
		b.Skipf("SpamAssassin corpus not prepared (make corpus): %v", err)
	}
	spam, err := os.ReadFile(filepath.Join(dir, "sa", "test-spam.txt"))
	if err != nil {
		b.Skip(err)
	}
	var mails [][]byte
	for _, rel := range strings.Fields(string(list) + string(spam)) {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, data)
	}
	for _, fuzzy := range []bool{true, false} {
		name := "fuzzy"
		if !fuzzy {
			name = "no-fuzzy"
		}
		b.Run(name, func(b *testing.B) {
			c := testConfig()
			c.FuzzyHashes = fuzzy
			e := newEngine(b, c, Options{})
			ctx := context.Background()
			b.ResetTimer()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1))
					if _, err := e.Analyze(ctx, mails[i%len(mails)], "bench"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
		})
	}
}
