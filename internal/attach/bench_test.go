package attach

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"testing"

	"github.com/glaslos/ssdeep"
	"github.com/glaslos/tlsh"
)

// BenchmarkAnalyze measures a plain (non-archive) attachment of 1 MB and
// 25 MB, where the time is all hashing.
func BenchmarkAnalyze(b *testing.B) {
	for _, size := range []int{1 << 20, 25 << 20} {
		data := noise(size)
		for _, fuzzy := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dMB/fuzzy=%v", size>>20, fuzzy), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					Analyze(context.Background(), "x.bin", "", data, Options{Fuzzy: fuzzy})
				}
			})
		}
	}
}

// BenchmarkHashPasses compares the single chunked pass of walker.hash with
// one pass per hash over the whole input.
func BenchmarkHashPasses(b *testing.B) {
	data := noise(25 << 20)
	b.Run("one-pass", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		w := &walker{opt: Options{Fuzzy: true}}
		for b.Loop() {
			var f Facts
			w.hash(&f, data)
		}
	})
	b.Run("pass-per-hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for _, h := range []hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New(), ssdeep.New(), tlsh.New()} {
				_, _ = h.Write(data)
				h.Sum(nil)
			}
		}
	})
}
