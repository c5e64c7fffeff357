package outlook

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// lzfuDict is the initial dictionary of compressed RTF (MS-OXRTFCP 2.1.2.1).
const lzfuDict = `{\rtf1\ansi\mac\deff0\deftab720{\fonttbl;}{\f0\fnil \froman ` +
	`\fswiss \fmodern \fscript \fdecor MS Sans SerifSymbolArialTimes New RomanCourier` +
	"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

const (
	lzfuCompressed   = 0x75465A4C // "LZFu"
	lzfuUncompressed = 0x414C454D // "MELA"
)

// decompressRTF expands the compressed RTF body (PidTagRtfCompressed),
// producing at most limit bytes. What was expanded before an error is
// returned with it.
func decompressRTF(data []byte, limit int) ([]byte, error) {
	if len(data) < 16 {
		return nil, errors.New("outlook: rtf body: short header")
	}
	compSize := int64(binary.LittleEndian.Uint32(data[0:]))
	rawSize := int64(binary.LittleEndian.Uint32(data[4:]))
	magic := binary.LittleEndian.Uint32(data[8:])
	in := data[16:]
	if compSize >= 12 && compSize-12 < int64(len(in)) {
		in = in[:compSize-12]
	}
	if rawSize < int64(limit) {
		limit = int(rawSize)
	}
	switch magic {
	case lzfuUncompressed:
		return in[:min(len(in), limit)], nil
	case lzfuCompressed:
	default:
		return nil, fmt.Errorf("outlook: rtf body: unknown compression %#x", magic)
	}

	var dict [4096]byte
	copy(dict[:], lzfuDict)
	wpos := len(lzfuDict)
	out := make([]byte, 0, min(limit, 1<<20))
	put := func(c byte) {
		out = append(out, c)
		dict[wpos] = c
		wpos = (wpos + 1) % len(dict)
	}
	for i := 0; i < len(in); {
		ctrl := in[i]
		i++
		for bit := 0; bit < 8; bit++ {
			if len(out) >= limit {
				return out, nil
			}
			if ctrl&(1<<bit) == 0 {
				if i >= len(in) {
					return out, nil
				}
				put(in[i])
				i++
				continue
			}
			if i+2 > len(in) {
				return out, errors.New("outlook: rtf body: truncated reference")
			}
			ref := int(in[i])<<8 | int(in[i+1])
			i += 2
			off, n := ref>>4, ref&0x0F+2
			if off == wpos {
				return out, nil // the end marker
			}
			for k := 0; k < n && len(out) < limit; k++ {
				put(dict[(off+k)%len(dict)])
			}
		}
	}
	return out, nil
}
