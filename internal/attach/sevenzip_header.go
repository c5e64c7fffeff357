package attach

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// sevenzip sizes its tables by the counts in the archive header (files,
// folders, coders, streams) before it reads the items, and accepts counts
// up to 2^32: a header of a few bytes then makes it allocate hundreds of
// gigabytes, which kills the process. sevenZipCheck walks the header
// first, decoding an LZMA-packed (and perhaps AES-encrypted) header the way
// 7-Zip writes it, and rejects any count larger than the header could
// describe or than maxSevenZipItems.
const (
	maxSevenZipItems  = 1 << 16
	maxSevenZipHeader = 16 << 20 // bytes of a decoded header
)

var errSevenZipHeader = errors.New("7z: implausible header")

// sevenZipCheck returns nil when sevenzip may read the archive, an error
// wrapping errEncrypted when the header is encrypted and password (which
// may be empty) does not open it, and another error when the header is
// damaged or describes more items than allowed.
func sevenZipCheck(b []byte, password string) error {
	if len(b) < 32 {
		return errSevenZipHeader
	}
	off := binary.LittleEndian.Uint64(b[12:])
	size := binary.LittleEndian.Uint64(b[20:])
	if off > uint64(len(b)) || size > uint64(len(b))-32-min(off, uint64(len(b))-32) {
		return fmt.Errorf("%w: header past the end", errSevenZipHeader)
	}
	h := &szHeader{b: b[32+off : 32+off+size]}
	id := h.byte()
	switch id {
	case 0x01: // header
		return h.header()
	case 0x17: // encoded header
		si := h.streams()
		if h.err != nil {
			return h.err
		}
		if h.byte() != 0 && h.err == nil {
			// sevenzip requires the encoded header to end here.
			return fmt.Errorf("%w: data after the encoded header", errSevenZipHeader)
		}
		decoded, encrypted, err := si.decode(b, password)
		if err != nil {
			return err
		}
		h = &szHeader{b: decoded}
		if h.byte() != 0x01 {
			h.fail("no header in the encoded header")
		} else {
			h.header()
		}
		if h.err != nil && encrypted {
			// Garbage from a wrong password.
			return fmt.Errorf("%w: %w", errEncrypted, h.err)
		}
		return h.err
	}
	return fmt.Errorf("%w: header id %#x", errSevenZipHeader, id)
}

// szHeader reads header fields; the first problem sticks in err and every
// read after it returns zero.
type szHeader struct {
	b   []byte
	pos int
	err error
}

func (h *szHeader) fail(format string, args ...any) {
	if h.err == nil {
		h.err = fmt.Errorf("%w: "+format, append([]any{errSevenZipHeader}, args...)...)
	}
}

func (h *szHeader) byte() byte {
	if h.err != nil || h.pos >= len(h.b) {
		h.fail("truncated")
		return 0
	}
	h.pos++
	return h.b[h.pos-1]
}

func (h *szHeader) skip(n uint64) {
	if h.err == nil && n > uint64(len(h.b)-h.pos) {
		h.fail("truncated")
	}
	if h.err == nil {
		h.pos += int(n)
	}
}

// number reads 7z's variable-length integer: the leading one bits of the
// first byte count the bytes that follow.
func (h *szHeader) number() uint64 {
	first := h.byte()
	var v uint64
	mask := byte(0x80)
	for i := range 8 {
		if first&mask == 0 {
			return v | uint64(first&(mask-1))<<(8*i)
		}
		v |= uint64(h.byte()) << (8 * i)
		mask >>= 1
	}
	return v
}

// count reads a number of items, which must fit the header.
func (h *szHeader) count() int {
	n := h.number()
	if n > maxSevenZipItems || n > uint64(len(h.b)) {
		h.fail("%d items", n)
		return 0
	}
	return int(n)
}

func (h *szHeader) expect(id byte) {
	if got := h.byte(); got != id && h.err == nil {
		h.fail("property %#x where %#x belongs", got, id)
	}
}

// header reads the main header after its 0x01.
func (h *szHeader) header() error {
	id := h.byte()
	if id == 0x02 { // archive properties
		for h.err == nil && h.byte() != 0 {
			h.skip(h.number())
		}
		id = h.byte()
	}
	if id == 0x03 { // additional streams
		h.streams()
		id = h.byte()
	}
	if id == 0x04 { // main streams
		h.streams()
		id = h.byte()
	}
	if id == 0x05 { // files: a count, then properties sized in bytes
		h.count()
		for h.err == nil && h.byte() != 0 {
			h.skip(h.number())
		}
		id = h.byte()
	}
	if id != 0 && h.err == nil {
		h.fail("header property %#x", id)
	}
	return h.err
}

// szCoder is one coder of a folder.
type szCoder struct {
	id       []byte
	props    []byte
	in, out  int
	inFirst  int // index of its first input among the folder's inputs
	outFirst int
}

// szFolder is a chain of coders.
type szFolder struct {
	coders   []szCoder
	bind     [][2]int // (input index, output index) pairs
	packed   []int    // folder inputs fed by packed streams
	sizes    []uint64 // unpacked size of each coder output
	totalOut int
	hasCRC   bool
	crc      uint32 // of the folder's output
}

// szStreams is what a streams-info block says.
type szStreams struct {
	packPos   uint64
	packSizes []uint64
	folders   []szFolder
}

// streams reads a streams-info block up to its closing 0.
func (h *szHeader) streams() *szStreams {
	si := &szStreams{}
	var folderCRC []bool
	for h.err == nil {
		switch id := h.byte(); id {
		case 0:
			return si
		case 0x06: // pack info
			si.packPos = h.number()
			n := h.count()
			for h.err == nil {
				switch h.byte() {
				case 0x09:
					for range n {
						si.packSizes = append(si.packSizes, h.number())
					}
					continue
				case 0x0a:
					h.digests(n)
					continue
				case 0:
				default:
					h.fail("pack info")
				}
				break
			}
		case 0x07: // unpack info
			h.expect(0x0b)
			n := h.count()
			if h.byte() != 0 {
				h.fail("external folders")
			}
			for range n {
				if h.err != nil {
					break
				}
				si.folders = append(si.folders, h.folder())
			}
			h.expect(0x0c)
			for i := range si.folders {
				for range si.folders[i].totalOut {
					si.folders[i].sizes = append(si.folders[i].sizes, h.number())
				}
			}
			folderCRC = make([]bool, len(si.folders))
			switch h.byte() {
			case 0x0a:
				var sums []uint32
				folderCRC, sums = h.crcs(len(si.folders))
				for i := range si.folders {
					si.folders[i].hasCRC, si.folders[i].crc = folderCRC[i], sums[i]
				}
				h.expect(0)
			case 0:
			default:
				h.fail("unpack info")
			}
		case 0x08: // substreams
			per := make([]int, len(si.folders))
			for i := range per {
				per[i] = 1
			}
			for h.err == nil {
				switch h.byte() {
				case 0x0d:
					for i := range per {
						per[i] = h.count()
					}
					continue
				case 0x09:
					for _, n := range per {
						for range max(n-1, 0) {
							h.number()
						}
					}
					continue
				case 0x0a:
					k := 0
					for i, n := range per {
						if n != 1 || i >= len(folderCRC) || !folderCRC[i] {
							k += n
						}
					}
					if k > maxSevenZipItems {
						h.fail("%d digests", k)
					}
					h.digests(k)
					continue
				case 0:
				default:
					h.fail("substreams info")
				}
				break
			}
		default:
			h.fail("streams property %#x", id)
		}
	}
	return si
}

// digests reads n optional CRCs and reports which are present.
func (h *szHeader) digests(n int) []bool {
	defined, _ := h.crcs(n)
	return defined
}

// crcs reads n optional CRCs.
func (h *szHeader) crcs(n int) (defined []bool, values []uint32) {
	defined = make([]bool, n)
	values = make([]uint32, n)
	if h.byte() != 0 {
		for i := range defined {
			defined[i] = true
		}
	} else {
		var bits byte
		for i := range defined {
			if i%8 == 0 {
				bits = h.byte()
			}
			defined[i] = bits&(0x80>>(i%8)) != 0
		}
	}
	for i, d := range defined {
		if d {
			start := h.pos
			h.skip(4)
			if h.err == nil {
				values[i] = binary.LittleEndian.Uint32(h.b[start:])
			}
		}
	}
	return defined, values
}

// folder reads one folder: its coders, bind pairs and packed inputs.
func (h *szHeader) folder() szFolder {
	var f szFolder
	n := h.count()
	if n == 0 || n > 32 {
		h.fail("%d coders", n)
		return f
	}
	totalIn := 0
	for range n {
		flags := h.byte()
		if flags&0x80 != 0 {
			h.fail("alternative coder methods")
			return f
		}
		c := szCoder{in: 1, out: 1, inFirst: totalIn, outFirst: f.totalOut}
		start := h.pos
		h.skip(uint64(flags & 0x0f))
		if h.err != nil {
			return f
		}
		c.id = h.b[start:h.pos]
		if flags&0x10 != 0 {
			c.in, c.out = h.count(), h.count()
		}
		if flags&0x20 != 0 {
			size := h.number()
			start := h.pos
			h.skip(size)
			if h.err != nil {
				return f
			}
			c.props = h.b[start:h.pos]
		}
		totalIn += c.in
		f.totalOut += c.out
		if totalIn > 64 || f.totalOut > 64 {
			h.fail("too many coder streams")
			return f
		}
		f.coders = append(f.coders, c)
	}
	if f.totalOut == 0 {
		h.fail("no coder output")
		return f
	}
	for range f.totalOut - 1 {
		f.bind = append(f.bind, [2]int{int(h.number()), int(h.number())})
	}
	packed := totalIn - len(f.bind)
	if packed < 1 {
		h.fail("no packed input")
		return f
	}
	if packed == 1 {
		for i := range totalIn {
			if !boundInput(f.bind, i) {
				f.packed = append(f.packed, i)
				break
			}
		}
	} else {
		for range packed {
			f.packed = append(f.packed, int(h.number()))
		}
	}
	return f
}

// boundInput reports whether folder input in is fed by another coder.
func boundInput(bind [][2]int, in int) bool {
	for _, b := range bind {
		if b[0] == in {
			return true
		}
	}
	return false
}

// decode unpacks the header that an encoded-header block describes: one
// folder of one or two simple coders reading one packed stream (LZMA or
// LZMA2, perhaps behind AES).
func (si *szStreams) decode(b []byte, password string) (header []byte, encrypted bool, err error) {
	if len(si.folders) != 1 || len(si.packSizes) != 1 {
		return nil, false, fmt.Errorf("%w: encoded header layout", errSevenZipHeader)
	}
	f := si.folders[0]
	for _, c := range f.coders {
		if c.in != 1 || c.out != 1 {
			return nil, false, fmt.Errorf("%w: encoded header coders", errSevenZipHeader)
		}
	}
	start, size := 32+si.packPos, si.packSizes[0]
	if si.packPos > uint64(len(b)) || start > uint64(len(b)) || size > uint64(len(b))-start {
		return nil, false, fmt.Errorf("%w: encoded header past the end", errSevenZipHeader)
	}
	// Order the coders from the one reading the packed stream to the one
	// giving the header: coder i reads the output of the coder bound to
	// its input.
	order := make([]int, 0, len(f.coders))
	next := -1
	for i, c := range f.coders {
		if len(f.packed) == 1 && c.inFirst == f.packed[0] {
			next = i
		}
	}
	for next >= 0 && len(order) < len(f.coders) {
		order = append(order, next)
		out := f.coders[next].outFirst
		next = -1
		for _, bp := range f.bind {
			if bp[1] == out {
				for i, c := range f.coders {
					if c.inFirst == bp[0] {
						next = i
					}
				}
			}
		}
	}
	if len(order) != len(f.coders) {
		return nil, false, fmt.Errorf("%w: encoded header coder chain", errSevenZipHeader)
	}
	if len(f.sizes) != f.totalOut {
		return nil, false, fmt.Errorf("%w: encoded header sizes", errSevenZipHeader)
	}
	want := f.sizes[f.coders[order[len(order)-1]].outFirst]
	if want > maxSevenZipHeader {
		return nil, false, fmt.Errorf("%w: header of %d bytes", errSevenZipHeader, want)
	}
	var r io.ReadCloser = io.NopCloser(bytes.NewReader(b[start : start+size]))
	for _, i := range order {
		c := f.coders[i]
		out := f.sizes[c.outFirst]
		switch string(c.id) {
		case "\x03\x01\x01":
			r, err = newLZMA(c.props, out, []io.ReadCloser{r})
		case "\x21":
			r, err = newLZMA2(c.props, out, []io.ReadCloser{r})
		case "\x06\xf1\x07\x01":
			encrypted = true
			var ar io.ReadCloser
			if ar, err = newAES(c.props, out, []io.ReadCloser{r}); err == nil {
				err = ar.(*aesReader).Password(password)
				r = ar
			}
		default:
			err = fmt.Errorf("%w: encoded header coder %x", errSevenZipHeader, c.id)
		}
		if err != nil {
			if encrypted {
				return nil, true, fmt.Errorf("%w: %w", errEncrypted, err)
			}
			return nil, false, err
		}
	}
	header, err = io.ReadAll(io.LimitReader(r, int64(want)))
	switch {
	case err != nil:
	case uint64(len(header)) != want:
		err = io.ErrUnexpectedEOF
	case f.hasCRC && crc32.ChecksumIEEE(header) != f.crc:
		err = errors.New("checksum error")
	}
	if err != nil {
		if encrypted {
			return nil, true, fmt.Errorf("%w: %w", errEncrypted, err)
		}
		return nil, false, fmt.Errorf("7z: header: %w", err)
	}
	return header, encrypted, nil
}
