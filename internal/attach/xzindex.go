package attach

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/ulikunitz/xz/lzma"
)

// xzDictSize returns the largest LZMA2 dictionary that the blocks of the
// xz data declare. The xz reader reserves that much before it decodes a
// byte, and a header may ask for 4 GiB; the blocks are found through the
// index at the end of each stream, which also rejects truncated files.
func xzDictSize(b []byte) (int64, error) {
	errFormat := errors.New("cannot read the stream index")
	magic := []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	var largest int64
	end := len(b)
	for streams := 0; end > 0; streams++ {
		for end >= 4 && bytes.Equal(b[end-4:end], []byte{0, 0, 0, 0}) {
			end -= 4 // stream padding
		}
		if end == 0 && streams > 0 {
			break
		}
		if end < 32 || b[end-2] != 'Y' || b[end-1] != 'Z' {
			return 0, errFormat
		}
		indexSize := (int64(binary.LittleEndian.Uint32(b[end-8:])) + 1) * 4
		indexStart := int64(end-12) - indexSize
		if indexStart < 12 || b[indexStart] != 0 {
			return 0, errFormat
		}
		idx := b[indexStart : end-12]
		pos := 1
		records, ok := uvarint(idx, &pos)
		if !ok || records > uint64(len(idx)) {
			return 0, errFormat
		}
		sizes := make([]int64, 0, records)
		var blocks int64
		for range records {
			unpadded, ok1 := uvarint(idx, &pos)
			_, ok2 := uvarint(idx, &pos)
			if !ok1 || !ok2 || unpadded == 0 || unpadded > uint64(len(b)) {
				return 0, errFormat
			}
			padded := int64(unpadded+3) &^ 3
			sizes = append(sizes, padded)
			blocks += padded
		}
		start := indexStart - blocks - 12
		if start < 0 || !bytes.Equal(b[start:start+6], magic) {
			return 0, errFormat
		}
		at := start + 12
		for _, size := range sizes {
			d, err := xzBlockDict(b[at : at+size])
			if err != nil {
				return 0, err
			}
			largest = max(largest, d)
			at += size
		}
		end = int(start)
	}
	return largest, nil
}

// xzBlockDict returns the LZMA2 dictionary size in one block header.
func xzBlockDict(block []byte) (int64, error) {
	errHeader := errors.New("bad block header")
	if len(block) < 2 {
		return 0, errHeader
	}
	hlen := (int(block[0]) + 1) * 4
	if block[0] == 0 || hlen > len(block) {
		return 0, errHeader
	}
	h := block[:hlen]
	flags := h[1]
	pos := 2
	if flags&0x40 != 0 {
		if _, ok := uvarint(h, &pos); !ok {
			return 0, errHeader
		}
	}
	if flags&0x80 != 0 {
		if _, ok := uvarint(h, &pos); !ok {
			return 0, errHeader
		}
	}
	var dict int64
	for range int(flags&3) + 1 {
		id, ok1 := uvarint(h, &pos)
		n, ok2 := uvarint(h, &pos)
		if !ok1 || !ok2 || n > uint64(len(h)-pos) {
			return 0, errHeader
		}
		props := h[pos : pos+int(n)]
		pos += int(n)
		if id == 0x21 {
			if len(props) != 1 {
				return 0, errHeader
			}
			d, err := lzma.DecodeDictCap(props[0])
			if err != nil {
				return 0, err
			}
			dict = max(dict, d)
		}
	}
	return dict, nil
}

// uvarint reads an xz variable-length integer at *pos.
func uvarint(b []byte, pos *int) (uint64, bool) {
	v, n := binary.Uvarint(b[min(*pos, len(b)):])
	if n <= 0 || n > 9 {
		return 0, false
	}
	*pos += n
	return v, true
}
