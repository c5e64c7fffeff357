package tokendb

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// A stored vector decodes to the indices it was encoded from, and a
// damaged one is an error, never an index out of the table.
func TestDecodeVector(t *testing.T) {
	limit := uint64(1) << Regression.Bits
	varint := func(vs ...uint64) []byte {
		out := []byte{1}
		for _, v := range vs {
			out = binary.AppendUvarint(out, v)
		}
		return out
	}
	for _, idx := range [][]uint32{{}, {0}, {5, 6, 7}, {0, 127, 128, 300, 70000, uint32(limit - 1)}} {
		got, err := decodeVector(encodeVector(1, idx), nil)
		if err != nil || !slices.Equal(got, idx) && len(idx) > 0 {
			t.Errorf("%v: decoded %v, %v", idx, got, err)
		}
	}
	for _, tt := range []struct {
		name string
		v    []byte
	}{
		{"truncated varint", []byte{1, 0x80}},
		{"past the table", varint(limit)},
		{"sum past the table", varint(limit-1, 1)},
		{"gap that wraps around", varint(5, math.MaxUint64-2)},
	} {
		if got, err := decodeVector(tt.v, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decoded %v, %v; want ErrCorrupt", tt.name, got, err)
		}
	}
}

// decodeSlowly is decodeVector one varint at a time.
func decodeSlowly(v []byte) ([]uint32, bool) {
	var out []uint32
	prev := uint64(0)
	for p := 1; p < len(v); {
		gap, n := binary.Uvarint(v[p:])
		if n <= 0 || gap >= 1<<Regression.Bits || prev+gap >= 1<<Regression.Bits {
			return nil, false
		}
		prev += gap
		p += n
		out = append(out, uint32(prev))
	}
	return out, true
}

// Whatever the bytes, decoding gives what decoding one varint at a time
// gives, or an error where that fails; and the indices are in the table
// and in order, and encode and decode again to themselves.
func FuzzDecodeVector(f *testing.F) {
	f.Add(encodeVector(1, []uint32{1, 2, 300, 70000}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Add([]byte{1, 0x85, 0x7f, 0x03, 0xff, 0x01, 0x80, 0x80, 0x01, 0x7f})
	f.Fuzz(func(t *testing.T, v []byte) {
		idx, err := decodeVector(v, nil)
		want, ok := decodeSlowly(v)
		if ok != (err == nil) || ok && !slices.Equal(idx, want) {
			t.Fatalf("decoded %v, %v; one varint at a time: %v, %v", idx, err, want, ok)
		}
		if err != nil {
			return
		}
		for i, x := range idx {
			if uint64(x) >= uint64(1)<<Regression.Bits || i > 0 && x < idx[i-1] {
				t.Fatalf("index %d = %d out of order or range", i, x)
			}
		}
		again, err := decodeVector(encodeVector(1, idx), nil)
		if err != nil || len(idx) > 0 && !slices.Equal(again, idx) {
			t.Fatalf("re-encoded %v decodes to %v, %v", idx, again, err)
		}
	})
}
