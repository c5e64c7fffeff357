package attach

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/glaslos/ssdeep"
	"github.com/glaslos/tlsh"
)

// noise returns n deterministic pseudo-random bytes (xorshift64*).
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		b[i] = byte((x * 0x2545f4914f6cdd1d) >> 56)
	}
	return b
}

func TestHashes(t *testing.T) {
	tests := []struct {
		in                        string
		md5, sha1, sha256, sha512 string
	}{
		{
			"abc",
			"900150983cd24fb0d6963f7d28e17f72",
			"a9993e364706816aba3e25717850c26c9cd0d89d",
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		},
		{
			"",
			"d41d8cd98f00b204e9800998ecf8427e",
			"da39a3ee5e6b4b0d3255bfef95601890afd80709",
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
		},
	}
	for _, tt := range tests {
		f := Analyze(context.Background(), "a.txt", "text/plain", []byte(tt.in), Options{Fuzzy: true})
		if f.MD5 != tt.md5 || f.SHA1 != tt.sha1 || f.SHA256 != tt.sha256 || f.SHA512 != tt.sha512 {
			t.Errorf("%q: got %s %s %s %s", tt.in, f.MD5, f.SHA1, f.SHA256, f.SHA512)
		}
		if f.SSDeep != "" || f.TLSH != "" {
			t.Errorf("%q: fuzzy hashes of a tiny input: %q %q", tt.in, f.SSDeep, f.TLSH)
		}
		if f.Size != int64(len(tt.in)) || len(f.Defects) != 0 {
			t.Errorf("%q: size %d defects %v", tt.in, f.Size, f.Defects)
		}
	}
}

// The golden values agree with the ssdeep 2.14.1 and tlsh 3.4.4 (with the
// "T1" prefix) command-line tools.
func TestFuzzyHashes(t *testing.T) {
	data := noise(8192)
	f := Analyze(context.Background(), "noise.bin", "", data, Options{Fuzzy: true})
	const (
		wantSSDeep = "192:w3lY4vOxa/DNxBZrgE+ngZwfTu5yVQzurRDm7g7/m9D295F5:glYLa/hZCXTu5yVQzurRsUb5"
		wantTLSH   = "T168F19E76B8ED25F282B91964325AD6631D29ADA83B3934594D27D04B8F7C31A4380445"
	)
	if f.SSDeep != wantSSDeep {
		t.Errorf("ssdeep = %q, want %q", f.SSDeep, wantSSDeep)
	}
	if f.TLSH != wantTLSH {
		t.Errorf("tlsh = %q, want %q", f.TLSH, wantTLSH)
	}
	// The streamed digests equal the libraries' one-shot functions.
	if s, err := ssdeep.FuzzyBytes(data); err != nil || s != f.SSDeep {
		t.Errorf("ssdeep.FuzzyBytes = %q, %v", s, err)
	}
	if h, err := tlsh.HashBytes(data); err != nil || "T1"+strings.ToUpper(h.String()) != f.TLSH {
		t.Errorf("tlsh.HashBytes = %v, %v", h, err)
	}
	plain := Analyze(context.Background(), "noise.bin", "", data, Options{})
	if plain.SSDeep != "" || plain.TLSH != "" || plain.SHA256 != f.SHA256 {
		t.Errorf("without Fuzzy: %q %q %q", plain.SSDeep, plain.TLSH, plain.SHA256)
	}
}

func TestFuzzyHashLimits(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		ssdeep     bool
		tlsh       bool
		wantTLSHOK bool
	}{
		{"49 bytes", noise(49), false, false, false},
		{"50 bytes", noise(50), false, true, true},
		{"4096 bytes", noise(4096), false, true, true},
		{"4097 bytes", noise(4097), true, true, true},
		{"uniform", make([]byte, 5000), true, false, false},
	}
	for _, tt := range tests {
		f := Analyze(context.Background(), "x", "", tt.data, Options{Fuzzy: true})
		if (f.SSDeep != "") != tt.ssdeep {
			t.Errorf("%s: ssdeep %q", tt.name, f.SSDeep)
		}
		if (f.TLSH != "") != tt.tlsh {
			t.Errorf("%s: tlsh %q", tt.name, f.TLSH)
		}
		if len(f.Defects) != 0 {
			t.Errorf("%s: defects %v", tt.name, f.Defects)
		}
	}
}

func TestRiskyName(t *testing.T) {
	tests := []struct {
		name             string
		ext              string
		double, runnable bool
	}{
		{"invoice.pdf", "pdf", false, false},
		{"invoice.pdf.exe", "exe", true, true},
		{"Invoice.PDF.EXE", "exe", true, true},
		{"scan.jpg      .js", "js", true, true},
		{"report.doc.docm", "docm", true, true},
		{"photo.jpg.zip", "zip", true, false},
		{"logs.tar.gz", "gz", false, false},
		{"data.csv.xz", "xz", false, false},
		{"setup.exe", "exe", false, true},
		{"run.exe.", "exe", false, true},
		{"run.exe  ", "exe", false, true},
		{"C:\\fakepath\\order.hta", "hta", false, true},
		{"dir/sub/payload.ps1", "ps1", false, true},
		{"invoice\u202efdp.exe", "exe", true, true},
		{"v1.2.3.tar", "tar", false, false},
		{".profile", "", false, false},
		{"README", "", false, false},
		{"", "", false, false},
		{"disk.ISO", "iso", false, true},
		{"notes.one", "one", false, true},
		{"same.exe.exe", "exe", false, true},
	}
	for _, tt := range tests {
		ext, double, runnable := RiskyName(tt.name)
		if ext != tt.ext || double != tt.double || runnable != tt.runnable {
			t.Errorf("RiskyName(%q) = %q, %v, %v; want %q, %v, %v", tt.name, ext, double, runnable, tt.ext, tt.double, tt.runnable)
		}
	}
}

func TestTypeMismatch(t *testing.T) {
	pe := append([]byte("MZ"), make([]byte, 200)...)
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"invoice.pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), false},
		{"invoice.pdf", pe, true},
		{"invoice.exe", pe, false},
		{"invoice", pe, true},
		{"photo.jpg", []byte("<html><script>location='http://x'</script></html>"), true},
		{"photo.jpg", []byte("just some text, a broken image"), false},
		{"archive.zip", []byte("Rar!\x1a\x07\x01\x00rest"), true},
		{"letter.doc", []byte("{\\rtf1\\ansi hello}"), true},
		{"unknown.xyz", []byte("<html></html>"), false},
		{"notes.txt", []byte("plain words"), false},
	}
	for _, tt := range tests {
		f := Analyze(context.Background(), tt.name, "", tt.data, Options{})
		if f.TypeMismatch != tt.want {
			t.Errorf("%s as %s: TypeMismatch = %v", tt.name, f.SniffedType, f.TypeMismatch)
		}
	}
}

func TestText(t *testing.T) {
	var calls []string
	hook := func(_ context.Context, mime string, data []byte) (string, error) {
		calls = append(calls, mime)
		switch {
		case bytes.HasPrefix(data, []byte("%PDF")):
			return strings.Repeat("ab", 100), nil
		case bytes.Contains(data, []byte("fail")):
			return "partial", errors.New("cannot parse")
		case bytes.Contains(data, []byte("panic")):
			panic("boom")
		}
		return string(data), nil
	}
	opt := Options{Text: hook, TextBytes: 50}
	pdf := Analyze(context.Background(), "a.pdf", "", []byte("%PDF-1.4\n"), opt)
	if len(pdf.Text) != 50 || !pdf.TextTruncated {
		t.Errorf("pdf text %q truncated %v", pdf.Text, pdf.TextTruncated)
	}
	bad := Analyze(context.Background(), "a.txt", "", []byte("fail here"), opt)
	if bad.Text != "partial" || !bad.HasDefect(DefectTextError) {
		t.Errorf("failing hook: %q %v", bad.Text, bad.Defects)
	}
	boom := Analyze(context.Background(), "a.txt", "", []byte("panic here"), opt)
	if !boom.HasDefect(DefectTextError) || boom.SHA1 == "" {
		t.Errorf("panicking hook: %v", boom.Defects)
	}
	calls = nil
	z := zipOf(t, file{"in.txt", []byte("member text")}, file{"img.png", []byte("\x89PNG\r\n\x1a\n....")})
	zf := Analyze(context.Background(), "a.zip", "", z, opt)
	if len(calls) != 1 || zf.Members[0].Text != "member text" || zf.Members[1].Text != "" || zf.Text != "" {
		t.Errorf("zip: calls %v, texts %q %q", calls, zf.Members[0].Text, zf.Members[1].Text)
	}
	utf := Analyze(context.Background(), "u.txt", "", []byte("ééééé"), Options{Text: hook, TextBytes: 5})
	if utf.Text != "éé" {
		t.Errorf("cut inside a rune: %q", utf.Text)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := Analyze(ctx, "a.zip", "", zipOf(t, files("a.txt", "a", "b.txt", "b")...), Options{})
	if !f.HasDefect(DefectCanceled) || len(f.Members) != 0 || f.SHA256 == "" {
		t.Errorf("canceled: %+v", f)
	}
}

func TestPanicInReader(t *testing.T) {
	w := &walker{ctx: context.Background(), lim: Limits{}.withDefaults()}
	var f Facts
	w.expand(&f, nil, 0, func(w *walker, f *Facts, _ []byte, depth int) {
		w.member(f, depth, entry{name: "first.txt", size: 1, packed: 1, open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("x")), nil
		}})
		panic("reader bug")
	})
	if !f.HasDefect(DefectCorrupt) || len(f.Members) != 1 || !strings.Contains(f.Defects[0].Detail, "panic") {
		t.Errorf("after a panic: %+v", f)
	}
}

func TestWalk(t *testing.T) {
	inner := zipOf(t, files("deep.txt", "deep")...)
	outer := zipOf(t, file{"a.txt", []byte("a")}, file{"inner.zip", inner})
	f := Analyze(context.Background(), "outer.zip", "application/zip", outer, Options{})
	var paths []string
	f.Walk(func(m *Facts) { paths = append(paths, m.Path) })
	want := []string{"", "outer.zip/a.txt", "outer.zip/inner.zip", "outer.zip/inner.zip/deep.txt"}
	if strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Errorf("paths %q, want %q", paths, want)
	}
}

// Analyze keeps no state between calls but a cache of 7z keys; run it
// from several goroutines at once (meaningful under -race).
func TestConcurrent(t *testing.T) {
	data := fixture(t, "enchdr.7z")
	z := zipOf(t, files("a.txt", "alpha")...)
	done := make(chan Facts)
	for i := range 4 {
		go func() {
			in, name := data, "enchdr.7z"
			if i%2 == 1 {
				in, name = z, "a.zip"
			}
			done <- Analyze(context.Background(), name, "", in, Options{Passwords: []string{"infected"}, Fuzzy: true})
		}()
	}
	for range 4 {
		if f := <-done; len(f.Members) != 1 || f.Members[0].MD5 == "" {
			t.Errorf("%s: %+v", f.Filename, f.Members)
		}
	}
}

// Stop sees each file once its hashes and type are known; returning true
// keeps its members and text out, and Sum gives the same hashes as Analyze.
func TestStopAndSum(t *testing.T) {
	inner := zipOf(t, files("a.txt", "first", "b.txt", "second")...)
	outer := zipOf(t, file{name: "inner.zip", data: inner}, file{name: "c.txt", data: []byte("third")})
	var seen []string
	stopAt := ""
	opt := Options{Stop: func(f *Facts, depth int) bool {
		seen = append(seen, f.Filename)
		return f.Filename == stopAt
	}}
	f := Analyze(context.Background(), "outer.zip", "", outer, opt)
	if got := strings.Join(seen, ","); got != "outer.zip,inner.zip,a.txt,b.txt,c.txt" {
		t.Fatalf("Stop saw %s", got)
	}
	if len(f.Members) != 2 || len(f.Members[0].Members) != 2 {
		t.Fatalf("members without stopping: %+v", f.Members)
	}
	seen, stopAt = nil, "inner.zip"
	f = Analyze(context.Background(), "outer.zip", "", outer, opt)
	if got := strings.Join(seen, ","); got != "outer.zip,inner.zip,c.txt" {
		t.Errorf("Stop saw %s after stopping at inner.zip", got)
	}
	in := f.Members[0]
	if len(in.Members) != 0 || in.SHA256 == "" || in.SniffedType != "application/zip" {
		t.Errorf("stopped member: %+v", in)
	}
	s := Sum(outer, true, true)
	if s.SHA256 != f.SHA256 || s.MD5 != f.MD5 || s.SHA512 != f.SHA512 || s.Size != f.Size || s.TLSH == "" {
		t.Errorf("Sum %+v differs from Analyze %+v", s, f)
	}
}
