package attach

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ulikunitz/xz"
)

// tar lists a tar archive held in memory.
func (w *walker) tar(f *Facts, data []byte, depth int) {
	w.tarStream(f, bytes.NewReader(data), depth, true)
}

// tarStream lists the tar archive read from r. inMemory tells that r reads
// stored bytes, so a member's declared size can be checked against them;
// otherwise r is a decompressor, already limited by the caller.
func (w *walker) tarStream(f *Facts, r io.Reader, depth int, inMemory bool) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, tar.ErrInsecurePath) {
			f.addDefect(DefectInsecurePath, h.Name)
			err = nil
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			w.streamFailed(f, "tar", err)
			return
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeGNUSparse {
			continue
		}
		e := entry{name: h.Name, size: h.Size, packed: -1, open: func() (io.ReadCloser, error) {
			return io.NopCloser(tr), nil
		}}
		if inMemory {
			e.packed = h.Size
		}
		if w.member(f, depth, e) == statusStop {
			return
		}
	}
}

// streamFailed records the error that ended a compressed stream or a tar
// archive: a limit on the decompressor, or corruption.
func (w *walker) streamFailed(f *Facts, format string, err error) {
	var le *limitError
	if errors.As(err, &le) {
		f.addDefect(le.defect, le.detail)
		return
	}
	f.addDefect(DefectCorrupt, prefixed(format, err))
}

// prefixed names the format in an error message that does not already.
func prefixed(format string, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, format) || strings.HasPrefix(msg, "archive/"+format) {
		return msg
	}
	return format + ": " + msg
}

// gzip opens a gzip stream: a compressed tar lists the tar's members, any
// other content is the single member, named from the gzip header or from
// the file name without its ".gz".
func (w *walker) gzip(f *Facts, data []byte, depth int) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		f.addDefect(DefectCorrupt, prefixed("gzip", err))
		return
	}
	name := zr.Name
	if name == "" {
		name = strip(f.Filename, ".tgz", ".tar", ".taz", ".tar", ".gz", "", ".gzip", "", ".z", "")
	}
	w.single(f, zr, len(data), name, depth, "gzip")
}

// bzip2 opens a bzip2 stream like gzip.
func (w *walker) bzip2(f *Facts, data []byte, depth int) {
	name := strip(f.Filename, ".tbz", ".tar", ".tbz2", ".tar", ".tb2", ".tar", ".bz2", "", ".bz", "")
	w.single(f, bzip2.NewReader(bytes.NewReader(data)), len(data), name, depth, "bzip2")
}

// xz opens an xz stream like gzip, after checking that no block asks for
// more than maxDecoderMemory of dictionary.
func (w *walker) xz(f *Facts, data []byte, depth int) {
	dict, err := xzDictSize(data)
	if err != nil {
		f.addDefect(DefectCorrupt, prefixed("xz", err))
		return
	}
	if dict > maxDecoderMemory {
		f.addDefect(DefectSizeLimit, fmt.Sprintf("xz: dictionary of %d bytes", dict))
		return
	}
	zr, err := xz.ReaderConfig{DictCap: 4096}.NewReader(bytes.NewReader(data))
	if err != nil {
		f.addDefect(DefectCorrupt, prefixed("xz", err))
		return
	}
	name := strip(f.Filename, ".txz", ".tar", ".xz", "")
	w.single(f, zr, len(data), name, depth, "xz")
}

// strip replaces the first of the suffixes (given as suffix, replacement
// pairs) that name ends with, ignoring case. A name without any of them
// gets no name at all.
func strip(name string, pairs ...string) string {
	lower := strings.ToLower(name)
	for i := 0; i+1 < len(pairs); i += 2 {
		if suf := pairs[i]; strings.HasSuffix(lower, suf) && len(name) > len(suf) {
			return name[:len(name)-len(suf)] + pairs[i+1]
		}
	}
	return ""
}

// single reads the content of a compressed stream dec of packed bytes. The
// decompressor is limited to the tree's byte budget and to the ratio limit
// as a whole, so even bytes that are skipped (tar members not read) cost a
// bounded amount of work.
func (w *walker) single(f *Facts, dec io.Reader, packed int, name string, depth int, format string) {
	lim := &stream{r: dec, left: w.lim.MaxTotalBytes - w.bytes, total: w.lim.MaxTotalBytes}
	if c := w.lim.MaxRatio * float64(packed); c < math.MaxInt64/2 {
		lim.ratioCap = max(ratioFloor, int64(c))
	} else {
		lim.ratioCap = math.MaxInt64
	}
	lim.packed = int64(packed)
	br := bufio.NewReaderSize(lim, 4096)
	head, err := br.Peek(1024)
	if len(head) == 0 && err != nil && err != io.EOF {
		w.streamFailed(f, format, err)
		return
	}
	if sniff(head) == "application/x-tar" {
		w.tarStream(f, br, depth, false)
		return
	}
	if name == "" {
		name = "content"
	}
	e := entry{name: name, size: -1, packed: int64(packed), open: func() (io.ReadCloser, error) {
		return io.NopCloser(br), nil
	}}
	w.member(f, depth, e)
}

// stream limits a decompressor: it fails once more than left bytes come
// out (the tree's remaining budget) or more than ratioCap.
type stream struct {
	r        io.Reader
	n        int64 // bytes produced
	left     int64
	total    int64
	ratioCap int64
	packed   int64
}

func (s *stream) Read(p []byte) (int, error) {
	if s.n >= s.left {
		return 0, &limitError{DefectSizeLimit, fmt.Sprintf("more than %d bytes expanded", s.total)}
	}
	if s.n >= s.ratioCap {
		return 0, &limitError{DefectRatioLimit, fmt.Sprintf("more than %d bytes from %d", s.ratioCap, s.packed)}
	}
	p = p[:min(int64(len(p)), s.left-s.n+1, s.ratioCap-s.n+1)]
	n, err := s.r.Read(p)
	s.n += int64(n)
	return n, err
}
