package attach

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"

	yzip "github.com/yeka/zip"

	"github.com/mailsift/mailsift/internal/attach/attachtest"
)

// tree lists every member below f as "path" and every defect in the tree
// as "path: defect-name" (path "" for f itself).
func tree(f Facts) (paths, defects []string) {
	f.Walk(func(m *Facts) {
		if m.Path != "" {
			paths = append(paths, m.Path)
		}
		for _, d := range m.Defects {
			defects = append(defects, m.Path+": "+d.Name)
		}
	})
	return paths, defects
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func member(f Facts, path string) *Facts {
	var found *Facts
	f.Walk(func(m *Facts) {
		if m.Path == path {
			found = m
		}
	})
	return found
}

func TestArchives(t *testing.T) {
	exe := "MZ\x90\x00" + strings.Repeat("\x00", 60) + "not really a program"
	inner := zipOf(t, files("deep/inside.txt", "deep text")...)
	middle := zipOf(t, file{"inner.zip", inner}, file{"note.txt", []byte("middle")})
	tests := []struct {
		name    string
		data    []byte
		sniffed string
		paths   []string
		defects []string
		content map[string]string // member path -> its content
	}{{
		name:    "mail.zip",
		data:    zipOf(t, file{"docs/", nil}, file{"docs/a.txt", []byte("alpha")}, file{"invoice.pdf.exe", []byte(exe)}),
		sniffed: "application/zip",
		paths:   []string{"mail.zip/docs/a.txt", "mail.zip/invoice.pdf.exe"},
		content: map[string]string{"mail.zip/docs/a.txt": "alpha", "mail.zip/invoice.pdf.exe": exe},
	}, {
		name:    "outer.zip",
		data:    zipOf(t, file{"middle.zip", middle}),
		sniffed: "application/zip",
		paths: []string{"outer.zip/middle.zip", "outer.zip/middle.zip/inner.zip",
			"outer.zip/middle.zip/inner.zip/deep/inside.txt", "outer.zip/middle.zip/note.txt"},
		content: map[string]string{"outer.zip/middle.zip/inner.zip/deep/inside.txt": "deep text"},
	}, {
		name:    "files.tar",
		data:    tarOf(t, files("a.txt", "alpha", "b/c.txt", "charlie")...),
		sniffed: "application/x-tar",
		paths:   []string{"files.tar/a.txt", "files.tar/b/c.txt"},
		content: map[string]string{"files.tar/b/c.txt": "charlie"},
	}, {
		name:    "files.tar.gz",
		data:    gzipOf(t, "files.tar", tarOf(t, files("a.txt", "alpha", "b/c.txt", "charlie")...)),
		sniffed: "application/gzip",
		paths:   []string{"files.tar.gz/a.txt", "files.tar.gz/b/c.txt"},
		content: map[string]string{"files.tar.gz/a.txt": "alpha"},
	}, {
		name:    "renamed.gz",
		data:    gzipOf(t, "report.txt", []byte("the report")),
		sniffed: "application/gzip",
		paths:   []string{"renamed.gz/report.txt"},
		content: map[string]string{"renamed.gz/report.txt": "the report"},
	}, {
		name:    "notes.txt.GZ",
		data:    gzipOf(t, "", []byte("notes")),
		sniffed: "application/gzip",
		paths:   []string{"notes.txt.GZ/notes.txt"},
	}, {
		name:    "bundle.zip.gz",
		data:    gzipOf(t, "", inner),
		sniffed: "application/gzip",
		paths:   []string{"bundle.zip.gz/bundle.zip", "bundle.zip.gz/bundle.zip/deep/inside.txt"},
	}, {
		name:    "notes.txt.xz",
		data:    xzOf(t, []byte("xz notes")),
		sniffed: "application/x-xz",
		paths:   []string{"notes.txt.xz/notes.txt"},
		content: map[string]string{"notes.txt.xz/notes.txt": "xz notes"},
	}, {
		name:    "files.txz",
		data:    xzOf(t, tarOf(t, files("x.js", "alert(1)")...)),
		sniffed: "application/x-xz",
		paths:   []string{"files.txz/x.js"},
	}, {
		name:    "hello.txt.bz2",
		data:    fixture(t, "hello.txt.bz2"),
		sniffed: "application/x-bzip2",
		paths:   []string{"hello.txt.bz2/hello.txt"},
		content: map[string]string{"hello.txt.bz2/hello.txt": "hello from inside a bzip2 stream\n"},
	}, {
		name:    "docs.tbz2",
		data:    fixture(t, "docs.tbz2"),
		sniffed: "application/x-bzip2",
		paths:   []string{"docs.tbz2/hello.txt", "docs.tbz2/docs/notes.txt"},
		content: map[string]string{"docs.tbz2/docs/notes.txt": "second file\n"},
	}, {
		name:    "plain.7z",
		data:    fixture(t, "plain.7z"),
		sniffed: "application/x-7z-compressed",
		paths:   []string{"plain.7z/docs/invoice.pdf.exe", "plain.7z/hello.txt"},
		content: map[string]string{"plain.7z/hello.txt": "hello from inside a 7z archive\n"},
	}, {
		name:    "ppmd.7z",
		data:    fixture(t, "ppmd.7z"),
		sniffed: "application/x-7z-compressed",
		paths:   []string{"ppmd.7z/hello.txt"},
		content: map[string]string{"ppmd.7z/hello.txt": "hello from inside a 7z archive\n"},
	}, {
		name:    "stored.rar",
		data:    rarOf(files("readme.txt", "rar text", "bin/tool.exe", exe), false),
		sniffed: "application/vnd.rar",
		paths:   []string{"stored.rar/readme.txt", "stored.rar/bin/tool.exe"},
		content: map[string]string{"stored.rar/readme.txt": "rar text", "stored.rar/bin/tool.exe": exe},
	}, {
		name:    "nested.rar",
		data:    rarOf([]file{{"in.zip", inner}}, false),
		sniffed: "application/vnd.rar",
		paths:   []string{"nested.rar/in.zip", "nested.rar/in.zip/deep/inside.txt"},
	}, {
		name:    "part1.rar",
		data:    rarOf(files("first.txt", "first"), true),
		sniffed: "application/vnd.rar",
		paths:   []string{"part1.rar/first.txt"},
		defects: []string{": archive-corrupt"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Analyze(context.Background(), tt.name, "application/octet-stream", tt.data, Options{})
			paths, defects := tree(f)
			if f.SniffedType != tt.sniffed || !f.IsArchive {
				t.Errorf("sniffed %q archive %v", f.SniffedType, f.IsArchive)
			}
			if !slices.Equal(paths, tt.paths) {
				t.Errorf("members %q, want %q", paths, tt.paths)
			}
			if !slices.Equal(defects, tt.defects) {
				t.Errorf("defects %q, want %q", defects, tt.defects)
			}
			for path, content := range tt.content {
				m := member(f, path)
				if m == nil || m.MD5 != md5hex(content) || m.Size != int64(len(content)) {
					t.Errorf("%s: %+v", path, m)
				}
			}
		})
	}
}

func TestMemberFacts(t *testing.T) {
	exe := append([]byte("MZ"), make([]byte, 200)...)
	f := Analyze(context.Background(), "order.zip", "application/zip",
		zipOf(t, file{"invoice.pdf.exe", exe}, file{"scan.pdf", exe}), Options{})
	if len(f.Members) != 2 {
		t.Fatalf("members %+v", f.Members)
	}
	a, b := f.Members[0], f.Members[1]
	if a.Filename != "invoice.pdf.exe" || a.Extension != "exe" || !a.DoubleExtension || !a.Executable || a.TypeMismatch {
		t.Errorf("double extension member: %+v", a)
	}
	if b.Extension != "pdf" || b.Executable || !b.TypeMismatch || b.SniffedType != "application/vnd.microsoft.portable-executable" {
		t.Errorf("disguised member: %+v", b)
	}
	if a.DeclaredType != "" || f.DeclaredType != "application/zip" {
		t.Errorf("declared types %q %q", a.DeclaredType, f.DeclaredType)
	}
}

func TestEncryptedZip(t *testing.T) {
	for _, method := range []yzip.EncryptionMethod{yzip.StandardEncryption, yzip.AES256Encryption} {
		data := encryptedZipOf(t, "infected", method, files("payload.js", "WScript.Echo('hi')", "readme.txt", "read me")...)
		locked := Analyze(context.Background(), "sample.zip", "", data, Options{})
		paths, defects := tree(locked)
		wantDefects := []string{": archive-encrypted", "sample.zip/payload.js: archive-encrypted", "sample.zip/readme.txt: archive-encrypted"}
		if !locked.Encrypted || len(paths) != 2 || !slices.Equal(sorted(defects), wantDefects) {
			t.Errorf("method %d without password: encrypted %v, %q, %q", method, locked.Encrypted, paths, defects)
		}
		if m := locked.Members[0]; !m.Encrypted || m.MD5 != "" || m.Extension != "js" || !m.Executable {
			t.Errorf("method %d: locked member %+v", method, m)
		}
		wrong := Analyze(context.Background(), "sample.zip", "", data, Options{Passwords: []string{"secret", "password"}})
		if !wrong.HasDefect(DefectEncrypted) || wrong.Members[0].MD5 != "" {
			t.Errorf("method %d with wrong passwords: %+v", method, wrong)
		}
		open := Analyze(context.Background(), "sample.zip", "", data, Options{Passwords: []string{"secret", "infected"}})
		if _, defects := tree(open); len(defects) != 0 || !open.Encrypted {
			t.Errorf("method %d with the password: defects %q", method, defects)
		}
		m := open.Members[0]
		if !m.Encrypted || m.Password != "infected" || m.MD5 != md5hex("WScript.Echo('hi')") {
			t.Errorf("method %d: opened member %+v", method, m)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSevenZipCheck(t *testing.T) {
	for _, name := range []string{"plain.7z", "plainheader.7z", "enc.7z", "ppmd.7z", "zeros.7z"} {
		if err := sevenZipCheck(fixture(t, name), ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	enc := fixture(t, "enchdr.7z")
	if err := sevenZipCheck(enc, ""); !errors.Is(err, errEncrypted) {
		t.Errorf("enchdr.7z without a password: %v", err)
	}
	if err := sevenZipCheck(enc, "wrong"); !errors.Is(err, errEncrypted) {
		t.Errorf("enchdr.7z with a wrong password: %v", err)
	}
	if err := sevenZipCheck(enc, "infected"); err != nil {
		t.Errorf("enchdr.7z with the password: %v", err)
	}
	// A header declaring 2^32-1 files: sevenzip would try to allocate
	// half a terabyte, which is fatal rather than a panic.
	b := fixture(t, "plainheader.7z")
	i := bytes.Index(b, []byte{0x00, 0x00, 0x05, 0x01, 0x19}) + 2
	huge := slices.Concat(b[:i], []byte{0x05, 0xf0, 0xff, 0xff, 0xff, 0xff}, b[i+2:])
	binary.LittleEndian.PutUint64(huge[20:], binary.LittleEndian.Uint64(huge[20:])+4)
	huge = patch7z(t, huge, []byte{0x05, 0xf0}, 0, 0x05)
	if err := sevenZipCheck(huge, ""); !errors.Is(err, errSevenZipHeader) {
		t.Errorf("2^32-1 files: %v", err)
	}
	f := Analyze(context.Background(), "huge.7z", "", huge, Options{})
	if !f.HasDefect(DefectCorrupt) || len(f.Members) != 0 {
		t.Errorf("2^32-1 files: %+v", f)
	}
}

func TestEncrypted7z(t *testing.T) {
	for _, name := range []string{"enc.7z", "enchdr.7z"} {
		data := fixture(t, name)
		locked := Analyze(context.Background(), name, "", data, Options{Passwords: []string{"wrong"}})
		if !locked.Encrypted || !locked.HasDefect(DefectEncrypted) || locked.Password != "" {
			t.Errorf("%s without the password: %+v", name, locked)
		}
		if name == "enc.7z" && (len(locked.Members) != 1 || !locked.Members[0].Encrypted || locked.Members[0].Filename != "hello.txt") {
			t.Errorf("%s: names are readable without the password: %+v", name, locked.Members)
		}
		open := Analyze(context.Background(), name, "", data, Options{Passwords: []string{"wrong", "infected"}})
		paths, defects := tree(open)
		if !open.Encrypted || open.Password != "infected" || len(defects) != 0 || !slices.Equal(paths, []string{name + "/hello.txt"}) {
			t.Errorf("%s with the password: %+v", name, open)
		}
		if m := member(open, name+"/hello.txt"); m == nil || m.MD5 != md5hex("hello from inside a 7z archive\n") {
			t.Errorf("%s: member %+v", name, m)
		}
	}
}

func TestEncryptedRar(t *testing.T) {
	data := rarOf(files("plain.txt", "visible", "enc:secret.txt", strings.Repeat("s", 16)), false)
	f := Analyze(context.Background(), "mixed.rar", "", data, Options{Passwords: []string{"infected"}})
	_, defects := tree(f)
	want := []string{": archive-encrypted", "mixed.rar/secret.txt: archive-encrypted"}
	if !f.Encrypted || !slices.Equal(sorted(defects), want) || len(f.Members) != 2 {
		t.Errorf("encrypted rar: %q %+v", defects, f.Members)
	}
	if m := f.Members[0]; m.MD5 != md5hex("visible") {
		t.Errorf("plain member %+v", m)
	}
	if m := f.Members[1]; !m.Encrypted || m.MD5 != "" {
		t.Errorf("encrypted member %+v", m)
	}
}

func TestTruncated(t *testing.T) {
	big := noise(20000)
	z := zipOf(t, file{"one.txt", []byte("first member")}, file{"two.bin", big}, file{"three.txt", []byte("third")})
	// Cut inside the central directory, and inside the second member.
	noDir := z[:len(z)-40]
	cut := z[:bytes.Index(z, []byte("two.bin"))+300]
	tz := tarOf(t, files("a.txt", "alpha", "b.txt", strings.Repeat("b", 2000))...)
	tests := []struct {
		name    string
		data    []byte
		paths   []string
		read    []string // members whose content was read
		defects []string
	}{{
		name:    "nodir.zip",
		data:    noDir,
		paths:   []string{"nodir.zip/one.txt", "nodir.zip/two.bin", "nodir.zip/three.txt"},
		read:    []string{"nodir.zip/one.txt", "nodir.zip/two.bin", "nodir.zip/three.txt"},
		defects: []string{": archive-corrupt"},
	}, {
		name:    "cut.zip",
		data:    cut,
		paths:   []string{"cut.zip/one.txt", "cut.zip/two.bin"},
		read:    []string{"cut.zip/one.txt"},
		defects: []string{": archive-corrupt", "cut.zip/two.bin: archive-corrupt"},
	}, {
		name:    "cut.tar",
		data:    tz[:512+512+512+1000],
		paths:   []string{"cut.tar/a.txt", "cut.tar/b.txt"},
		read:    []string{"cut.tar/a.txt"},
		defects: []string{": archive-corrupt", "cut.tar/b.txt: archive-corrupt"},
	}, {
		name:    "cut.txt.gz",
		data:    gzipOf(t, "", big)[:5000],
		paths:   []string{"cut.txt.gz/cut.txt"},
		defects: []string{"cut.txt.gz/cut.txt: archive-corrupt"},
	}, {
		name:    "cut.xz",
		data:    xzOf(t, big)[:5000],
		defects: []string{": archive-corrupt"},
	}, {
		name:    "cut.7z",
		data:    fixture(t, "plain.7z")[:200],
		defects: []string{": archive-corrupt"},
	}, {
		name:    "cut.rar",
		data:    rarOf(files("a.txt", "alpha", "b.txt", strings.Repeat("b", 500)), false)[:200],
		paths:   []string{"cut.rar/a.txt", "cut.rar/b.txt"},
		read:    []string{"cut.rar/a.txt"},
		defects: []string{": archive-corrupt", "cut.rar/b.txt: archive-corrupt"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Analyze(context.Background(), tt.name, "", tt.data, Options{})
			paths, defects := tree(f)
			if !f.IsArchive || !slices.Equal(paths, tt.paths) || !slices.Equal(defects, tt.defects) {
				t.Errorf("archive %v members %q defects %q; want %q %q", f.IsArchive, paths, defects, tt.paths, tt.defects)
			}
			var read []string
			f.Walk(func(m *Facts) {
				if m.Path != "" && m.SHA256 != "" {
					read = append(read, m.Path)
				}
			})
			if !slices.Equal(read, tt.read) {
				t.Errorf("read %q, want %q", read, tt.read)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	deep := []byte("bottom")
	for i := range 6 {
		deep = zipOf(t, file{"level" + string(rune('0'+i)) + ".zip", deep})
	}
	many := make([]file, 30)
	for i := range many {
		many[i] = file{strings.Repeat("m", i+1) + ".txt", []byte("member")}
	}
	zeros := make([]byte, 4<<20)
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		defects []string
		members int
	}{{
		name:    "deep.zip",
		data:    deep,
		lim:     Limits{MaxDepth: 3},
		defects: []string{"deep.zip/level5.zip/level4.zip/level3.zip: archive-depth-limit"},
		members: 3,
	}, {
		name:    "many.zip",
		data:    zipOf(t, many...),
		lim:     Limits{MaxMembers: 10},
		defects: []string{": archive-member-limit"},
		members: 10,
	}, {
		name:    "nested-many.zip",
		data:    zipOf(t, file{"a.zip", zipOf(t, many...)}, file{"b.txt", []byte("b")}),
		lim:     Limits{MaxMembers: 10},
		defects: []string{": archive-member-limit", "nested-many.zip/a.zip: archive-member-limit"},
		members: 10,
	}, {
		name:    "big.zip",
		data:    zipOf(t, file{"big.bin", noise(300 << 10)}, file{"small.txt", []byte("s")}),
		lim:     Limits{MaxMemberBytes: 200 << 10},
		defects: []string{"big.zip/big.bin: archive-size-limit"},
		members: 2,
	}, {
		name:    "total.zip",
		data:    zipOf(t, file{"a.bin", noise(150 << 10)}, file{"b.bin", noise(150 << 10)}, file{"c.txt", []byte("c")}),
		lim:     Limits{MaxTotalBytes: 200 << 10},
		defects: []string{"total.zip/b.bin: archive-size-limit"},
		members: 3,
	}, {
		name:    "zeros.zip",
		data:    zipOf(t, file{"zeros.bin", zeros}, file{"ok.txt", []byte("ok")}),
		defects: []string{"zeros.zip/zeros.bin: archive-ratio-limit"},
		members: 2,
	}, {
		name:    "zeros.7z",
		data:    fixture(t, "zeros.7z"),
		defects: []string{"zeros.7z/zeros.bin: archive-ratio-limit"},
		members: 1,
	}, {
		name:    "zeros.bin.gz",
		data:    gzipOf(t, "", zeros),
		defects: []string{"zeros.bin.gz/zeros.bin: archive-ratio-limit"},
		members: 1,
	}, {
		name:    "zeros.tar.gz",
		data:    gzipOf(t, "", tarOf(t, file{"zeros.bin", zeros}, file{"after.txt", []byte("after")})),
		defects: []string{": archive-ratio-limit", "zeros.tar.gz/zeros.bin: archive-ratio-limit"},
		members: 1,
	}, {
		name:    "zeros.bin.xz",
		data:    xzOf(t, zeros),
		defects: []string{"zeros.bin.xz/zeros.bin: archive-ratio-limit"},
		members: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Analyze(context.Background(), tt.name, "", tt.data, Options{Limits: tt.lim})
			paths, defects := tree(f)
			if !slices.Equal(sorted(defects), sorted(tt.defects)) || len(paths) != tt.members {
				t.Errorf("members %q defects %q, want %d members and %q", paths, defects, tt.members, tt.defects)
			}
		})
	}
}

// A member whose header understates its size is stopped by archive/zip at
// the declared size; without a central directory, by the ratio of the
// bytes it actually produces.
func TestLyingSizes(t *testing.T) {
	leaf := attachtest.DeflatedZeros(t, 16)
	data := attachtest.RawZip(t, 1, "small", leaf, 1000, attachtest.CRCZeros(16))
	f := Analyze(context.Background(), "liar.zip", "", data, Options{})
	if _, defects := tree(f); !slices.Equal(defects, []string{"liar.zip/smalla: archive-corrupt"}) {
		t.Errorf("defects %q", defects)
	}
	noDir := data[:bytes.LastIndex(data, []byte("PK\x01\x02"))]
	f = Analyze(context.Background(), "liar.zip", "", noDir, Options{})
	if _, defects := tree(f); !slices.Equal(defects, []string{": archive-corrupt", "liar.zip/smalla: archive-ratio-limit"}) {
		t.Errorf("defects %q", defects)
	}
	f = Analyze(context.Background(), "liar.zip", "", noDir, Options{Limits: Limits{MaxRatio: 1e9, MaxMemberBytes: 1 << 20}})
	if _, defects := tree(f); !slices.Equal(defects, []string{": archive-corrupt", "liar.zip/smalla: archive-size-limit"}) {
		t.Errorf("defects %q", defects)
	}
}

// patch7z sets the byte at offset after the first occurrence of pattern
// in the header of a 7z archive (which must not be LZMA-packed), fixing
// the header checksums.
func patch7z(t *testing.T, data, pattern []byte, offset int, value byte) []byte {
	t.Helper()
	b := bytes.Clone(data)
	i := bytes.Index(b[32:], pattern)
	if i < 0 {
		t.Fatalf("no %x in the fixture", pattern)
	}
	b[32+i+offset] = value
	off := binary.LittleEndian.Uint64(b[12:])
	size := binary.LittleEndian.Uint64(b[20:])
	binary.LittleEndian.PutUint32(b[28:], crc32.ChecksumIEEE(b[32+off:32+off+size]))
	binary.LittleEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[12:32]))
	return b
}

func TestDecoderMemory(t *testing.T) {
	// A 7z declaring a 3 GiB LZMA2 dictionary for 31 bytes (which the
	// stock decoder would reserve) is read with a dictionary the size of
	// its output.
	huge := patch7z(t, fixture(t, "plainheader.7z"), []byte{0x21, 0x21, 0x01}, 3, 39)
	before := allocated()
	f := Analyze(context.Background(), "huge.7z", "", huge, Options{})
	if grew := allocated() - before; grew > 16<<20 {
		t.Errorf("allocated %d bytes", grew)
	}
	if m := member(f, "huge.7z/hello.txt"); m == nil || m.MD5 != md5hex("hello from inside a 7z archive\n") {
		t.Errorf("member %+v, defects %v", m, f.Defects)
	}
	// When the declared output is large too, the coder is refused.
	in := []io.ReadCloser{io.NopCloser(bytes.NewReader(nil))}
	if _, err := newLZMA2([]byte{40}, 1<<40, in); err != errDecoderMemory {
		t.Errorf("lzma2: %v", err)
	}
	if _, err := newLZMA([]byte{0x5d, 0, 0, 0, 0x40}, 1<<40, in); err != errDecoderMemory {
		t.Errorf("lzma: %v", err)
	}
	if _, err := newPPMd([]byte{6, 0, 0, 0, 0x40}, 1<<20, in); err != errDecoderMemory {
		t.Errorf("ppmd: %v", err)
	}
	// An xz block asking for a 1.5 GiB dictionary is not decoded.
	x := xzOf(t, []byte("some text"))
	hlen := (int(x[12]) + 1) * 4
	h := x[12 : 12+hlen]
	j := bytes.Index(h, []byte{0x21, 0x01})
	h[j+2] = 38
	binary.LittleEndian.PutUint32(h[hlen-4:], crc32.ChecksumIEEE(h[:hlen-4]))
	f = Analyze(context.Background(), "big.xz", "", x, Options{})
	if !f.HasDefect(DefectSizeLimit) || len(f.Members) != 0 {
		t.Errorf("xz: %+v", f)
	}
}

// Key derivations that an archive can make arbitrarily slow are not run.
func TestKeyDerivationCost(t *testing.T) {
	opt := Options{Passwords: []string{"infected"}}
	r := rarOf(files("enc24:a.txt", "0123456789abcdef"), false)
	f := Analyze(context.Background(), "slow.rar", "", r, opt)
	if !f.Encrypted || len(f.Defects) != 1 || !strings.Contains(f.Defects[0].Detail, "not tried") {
		t.Errorf("rar with 2^24 rounds: %v", f.Defects)
	}
	var many []file
	for i := range 6 {
		many = append(many, file{fmt.Sprintf("enc:%d.txt", i), []byte("0123456789abcdef")})
	}
	// Each member gets the same salt here, so one key: tried.
	f = Analyze(context.Background(), "same.rar", "", rarOf(many, false), opt)
	if len(f.Defects) != 1 || !strings.Contains(f.Defects[0].Detail, "none of 1") {
		t.Errorf("rar with one salt: %v", f.Defects)
	}
	// The header AES coder of enchdr.7z asks for 2^24 rounds instead of 2^19.
	enc := fixture(t, "enchdr.7z")
	slow := patch7z(t, enc, []byte{0x06, 0xf1, 0x07, 0x01, 0x12}, 5, 0x40|24)
	f = Analyze(context.Background(), "slow.7z", "", slow, opt)
	if !f.Encrypted || f.Password != "" || !f.HasDefect(DefectEncrypted) {
		t.Errorf("7z with 2^24 rounds: %+v", f)
	}
	if f := Analyze(context.Background(), "enchdr.7z", "", enc, opt); f.Password != "infected" {
		t.Errorf("unpatched: %+v", f)
	}
}
