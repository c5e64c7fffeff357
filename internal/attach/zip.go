package attach

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	yzip "github.com/yeka/zip"
)

// zip lists a zip archive with archive/zip. Encrypted entries (the
// encryption flag, or WinZip AES as method 99) are read with yeka/zip and
// each of Options.Passwords. When the central directory cannot be read
// (a truncated file), the local headers are scanned instead.
func (w *walker) zip(f *Facts, data []byte, depth int) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	switch {
	case errors.Is(err, zip.ErrInsecurePath):
		f.addDefect(DefectInsecurePath, err.Error())
	case err != nil:
		f.addDefect(DefectCorrupt, prefixed("zip", err))
		w.zipSalvage(f, data, depth)
		return
	}
	zr.RegisterDecompressor(12, func(r io.Reader) io.ReadCloser { return io.NopCloser(bzip2.NewReader(r)) })
	var yr *yzip.Reader // opened for the first encrypted entry
	locked := false
	for i, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") || zf.Mode().IsDir() {
			continue
		}
		e := entry{
			name:      zf.Name,
			size:      declared(zf.UncompressedSize64),
			packed:    declared(zf.CompressedSize64),
			encrypted: zf.Flags&1 != 0 || zf.Method == 99,
			open:      zf.Open,
		}
		password := ""
		if e.encrypted {
			if yr == nil {
				if yr, err = yzip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
					yr = &yzip.Reader{}
				}
			}
			e.open, password = w.zipPassword(yr, i, zf, e)
		}
		before := len(f.Members)
		st := w.member(f, depth, e)
		if st == statusStop {
			break
		}
		if e.encrypted {
			f.Encrypted = true
			if st == statusLocked {
				locked = true
			} else if len(f.Members) > before {
				f.Members[before].Password = password
			}
		}
	}
	if locked {
		if len(w.opt.Passwords) == 0 {
			f.addDefect(DefectEncrypted, "no password given")
		} else {
			f.addDefect(DefectEncrypted, fmt.Sprintf("none of %d passwords opened it", len(w.opt.Passwords)))
		}
	}
}

// zipPassword finds the password that opens the encrypted entry zf (number
// i) and returns an opener for it with that password. Each try is read in
// full within the limits, because ZipCrypto checks only one byte of the
// password; the bytes of failed tries are not charged to the tree.
func (w *walker) zipPassword(yr *yzip.Reader, i int, zf *zip.File, e entry) (func() (io.ReadCloser, error), string) {
	var yf *yzip.File
	if i < len(yr.File) && yr.File[i].Name == zf.Name {
		yf = yr.File[i]
	}
	locked := func() (io.ReadCloser, error) { return nil, errEncrypted }
	if yf == nil || len(w.opt.Passwords) == 0 || w.precheck(e).Name != "" {
		return locked, ""
	}
	for _, pw := range w.opt.Passwords {
		spent := w.bytes
		yf.SetPassword(pw)
		rc, err := yf.Open()
		if err == nil {
			_, err = w.read(rc, e)
			if cerr := rc.Close(); err == nil {
				err = cerr
			}
		}
		w.bytes = spent
		if err == nil {
			return func() (io.ReadCloser, error) {
				yf.SetPassword(pw)
				return yf.Open()
			}, pw
		}
		var le *limitError
		if errors.As(err, &le) {
			// The password may be right, but the content is over a
			// limit: report that rather than the encryption.
			return func() (io.ReadCloser, error) { return nil, err }, ""
		}
	}
	return locked, ""
}

// declared converts a size from an archive header; sizes beyond int64 are
// unknown.
func declared(n uint64) int64 {
	if n > 1<<62 {
		return -1
	}
	return int64(n)
}

// zipSalvage lists a zip whose central directory is missing or broken by
// scanning for local file headers. Stored and deflated members whose data
// is complete are read; the others are listed with a defect.
func (w *walker) zipSalvage(f *Facts, data []byte, depth int) {
	sig := []byte("PK\x03\x04")
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], sig)
		if i < 0 {
			return
		}
		p := off + i
		off = p + len(sig)
		if len(data)-p < 30 {
			return
		}
		h := data[p : p+30]
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		csize := int64(binary.LittleEndian.Uint32(h[18:]))
		usize := int64(binary.LittleEndian.Uint32(h[22:]))
		nameLen := int(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int(binary.LittleEndian.Uint16(h[28:]))
		start := p + 30 + nameLen + extraLen
		if start > len(data) {
			return
		}
		name := string(data[p+30 : p+30+nameLen])
		sized := flags&8 == 0 && csize != 0xffffffff && usize != 0xffffffff
		body := data[start:]
		truncated := false
		if sized {
			if int64(len(body)) < csize {
				truncated = true
			} else {
				body = body[:csize]
				off = start + int(csize)
			}
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		e := entry{name: name, size: -1, packed: int64(len(body)), encrypted: flags&1 != 0 || method == 99}
		if sized {
			e.size = usize
		}
		e.open = func() (io.ReadCloser, error) {
			switch {
			case e.encrypted:
				return nil, errEncrypted
			case truncated && method == zip.Store:
				return nil, errors.New("zip: member data truncated")
			case method == zip.Store && sized:
				return io.NopCloser(bytes.NewReader(body)), nil
			case method == zip.Deflate:
				return flate.NewReader(bytes.NewReader(body)), nil
			}
			return nil, fmt.Errorf("zip: cannot salvage a member with method %d", method)
		}
		if w.member(f, depth, e) == statusStop {
			return
		}
	}
}
