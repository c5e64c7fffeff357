package attach

import (
	"context"
	"testing"

	yzip "github.com/yeka/zip"
)

// FuzzAnalyze feeds arbitrary bytes to Analyze under small limits. It must
// not panic outside the archive readers (whose panics become defects), and
// the tree it returns must respect the limits.
func FuzzAnalyze(f *testing.F) {
	inner := zipOf(f, files("a.txt", "alpha", "b/c.exe", "MZ")...)
	for _, seed := range [][]byte{
		inner,
		zipOf(f, file{"in.zip", inner}, file{"x.txt", []byte("x")}),
		encryptedZipOf(f, "infected", yzip.AES256Encryption, files("p.js", "x=1")...),
		tarOf(f, files("a.txt", "alpha")...),
		gzipOf(f, "t.tar", tarOf(f, files("a.txt", "alpha")...)),
		xzOf(f, []byte("xz content")),
		rarOf(files("r.txt", "rar", "enc:s.txt", "0123456789abcdef"), false),
		fixture(f, "plain.7z"),
		fixture(f, "enc.7z"),
		fixture(f, "enchdr.7z"),
		fixture(f, "plainheader.7z"),
		fixture(f, "ppmd.7z"),
		fixture(f, "docs.tbz2"),
		[]byte("%PDF-1.4\n"),
		[]byte("MZ"),
		{},
	} {
		f.Add(seed)
	}
	lim := Limits{MaxDepth: 3, MaxMembers: 20, MaxTotalBytes: 1 << 20, MaxMemberBytes: 256 << 10, MaxRatio: 50}
	opt := Options{Limits: lim, Passwords: []string{"infected"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := Analyze(context.Background(), "fuzz.bin", "", data, opt)
		if root.HasDefect(DefectPanic) {
			t.Fatalf("panic: %v", root.Defects)
		}
		var check func(m *Facts, depth int)
		members, read := 0, int64(0)
		check = func(m *Facts, depth int) {
			if depth > lim.MaxDepth {
				t.Fatalf("%s at depth %d", m.Path, depth)
			}
			if depth > 0 {
				members++
				if m.SHA256 != "" {
					read += m.Size
					if m.Size > lim.MaxMemberBytes {
						t.Fatalf("%s: %d bytes read", m.Path, m.Size)
					}
				}
			}
			for i := range m.Members {
				check(&m.Members[i], depth+1)
			}
		}
		check(&root, 0)
		if members > lim.MaxMembers || read > lim.MaxTotalBytes {
			t.Fatalf("%d members, %d bytes read", members, read)
		}
	})
}
