// Package attachtest builds hostile archives for tests and benchmarks:
// zip bombs of any depth, built in moments by repeating deflate streams
// instead of compressing the zeros they expand to.
package attachtest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// DeflatedZeros returns a raw deflate stream of mib MiB of zeros, built in
// time independent of mib: after the first MiB every further MiB encodes
// the same way (matches against the zeros before it), so one flushed
// segment is repeated.
func DeflatedZeros(t testing.TB, mib int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	write := func() []byte {
		start := buf.Len()
		if _, err := fw.Write(zero); err != nil {
			t.Fatal(err)
		}
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(buf.Bytes()[start:])
	}
	first := write()
	next := write()
	start := buf.Len()
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	tail := bytes.Clone(buf.Bytes()[start:])
	out := append([]byte{}, first...)
	for i := 1; i < mib; i++ {
		out = append(out, next...)
	}
	return append(out, tail...)
}

// CRCZeros is the CRC-32 of mib MiB of zeros.
func CRCZeros(mib int) uint32 {
	zero := make([]byte, 1<<20)
	var c uint32
	for range mib {
		c = crc32.Update(c, crc32.IEEETable, zero)
	}
	return c
}

// RawZip stores already deflated members: copies of body, each declaring
// size expanded bytes and the given CRC.
func RawZip(t testing.TB, copies int, prefix string, body []byte, size uint64, crc uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range copies {
		h := &zip.FileHeader{
			Name:               prefix + string(rune('a'+i%26)) + strings.Repeat("x", i/26),
			Method:             zip.Deflate,
			CRC32:              crc,
			CompressedSize64:   uint64(len(body)),
			UncompressedSize64: size,
			Modified:           fixedTime,
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Bomb builds a 42.zip-like archive: levels of zips, each holding 16
// copies of the level below, over leaves of leafMiB MiB of zeros.
func Bomb(t testing.TB, levels, leafMiB int) []byte {
	t.Helper()
	leaf := DeflatedZeros(t, leafMiB)
	cur := RawZip(t, 16, "0", leaf, uint64(leafMiB)<<20, CRCZeros(leafMiB))
	for l := 1; l < levels; l++ {
		var buf bytes.Buffer
		fw, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(cur); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		cur = RawZip(t, 16, string(rune('0'+l)), buf.Bytes(), uint64(len(cur)), crc32.ChecksumIEEE(cur))
	}
	return cur
}
