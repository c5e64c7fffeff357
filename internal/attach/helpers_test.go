package attach

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
	yzip "github.com/yeka/zip"
)

// file is one member for the archive builders below.
type file struct {
	name string
	data []byte
}

func files(pairs ...string) []file {
	var fs []file
	for i := 0; i+1 < len(pairs); i += 2 {
		fs = append(fs, file{pairs[i], []byte(pairs[i+1])})
	}
	return fs
}

var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func zipOf(t testing.TB, fs ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range fs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encryptedZipOf encrypts every member with password using method
// (yzip.StandardEncryption for ZipCrypto, yzip.AES256Encryption).
func encryptedZipOf(t testing.TB, password string, method yzip.EncryptionMethod, fs ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := yzip.NewWriter(&buf)
	for _, f := range fs {
		w, err := zw.Encrypt(f.name, password, method)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t testing.TB, fs ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range fs {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: fixedTime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = name
	zw.ModTime = fixedTime
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzOf(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rarOf builds a RAR 5 archive of stored (uncompressed) members, enough of
// the format for rardecode to list and read. Members whose name starts
// with "enc:" get an encryption record (and so cannot be read; "enc24:"
// asks for the costliest key derivation), and
// multi marks the archive as the first of several volumes.
func rarOf(fs []file, multi bool) []byte {
	var out bytes.Buffer
	out.WriteString("Rar!\x1a\x07\x01\x00")
	block := func(hdr, data []byte) {
		size := binary.AppendUvarint(nil, uint64(len(hdr)))
		crc := crc32.ChecksumIEEE(append(append([]byte{}, size...), hdr...))
		_ = binary.Write(&out, binary.LittleEndian, crc)
		out.Write(size)
		out.Write(hdr)
		out.Write(data)
	}
	uv := binary.AppendUvarint
	arcFlags := uint64(0)
	if multi {
		arcFlags = 1
	}
	block(uv(uv(uv(nil, 1), 0), arcFlags), nil) // main archive header
	for _, f := range fs {
		name, encrypted := strings.CutPrefix(f.name, "enc:")
		kdf := byte(15)
		if n, ok := strings.CutPrefix(f.name, "enc24:"); ok {
			name, encrypted, kdf = n, true, 24
		}
		var extra []byte
		if encrypted {
			rec := uv(uv(nil, 1), 0)                          // type 1 (encryption), version 0
			rec = uv(rec, 0)                                  // no password check, no MAC
			rec = append(rec, kdf)                            // log2 of the PBKDF2 rounds
			rec = append(rec, bytes.Repeat([]byte{7}, 32)...) // salt and IV
			extra = append(uv(nil, uint64(len(rec))), rec...)
		}
		flags := uint64(2) // has data
		if extra != nil {
			flags |= 1
		}
		h := uv(uv(nil, 2), flags)
		if extra != nil {
			h = uv(h, uint64(len(extra)))
		}
		h = uv(h, uint64(len(f.data)))
		h = uv(h, 4) // file flags: CRC32 present
		h = uv(h, uint64(len(f.data)))
		h = uv(h, 0o644)
		h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(f.data))
		h = uv(h, 0) // compression: stored
		h = uv(h, 1) // host OS: Unix
		h = uv(h, uint64(len(name)))
		h = append(h, name...)
		h = append(h, extra...)
		block(h, f.data)
	}
	endFlags := uint64(0)
	if multi {
		endFlags = 1 // more volumes follow
	}
	block(uv(uv(uv(nil, 5), 0), endFlags), nil)
	return out.Bytes()
}
