package prefault

import (
	"fmt"
	"slices"
	"testing"
)

const sampleMaps = `00400000-010e8000 r-xp 00000000 fe:00 10240041                           /usr/bin/mailsift
010e8000-01ef0000 r--p 00ce8000 fe:00 10240041                           /usr/bin/mailsift
01ef0000-025ce000 rw-p 01af0000 fe:00 10240041                           /usr/bin/mailsift
025ce000-0461c000 rw-p 00000000 00:00 0 
61c1c000000-61c1dc00000 ---p 00000000 00:00 0 
61c1dc00000-61c1e000000 rw-p 00000000 00:00 0 
61c1e000000-61c20000000 ---p 00000000 00:00 0 
7fb1b8920000-7fb1bac00000 rw-p 00000000 00:00 0 
7fb1bac00000-7fb1bb000000 rw-p 00000000 00:00 0                          [anon: Go: heap]
7fb1bb000000-7fb1bb100000 rw-p 00000000 00:00 0                          [heap]
7fff56359000-7fff5637a000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`

func TestRegions(t *testing.T) {
	code := region{0x400000, 0x10e8000, false}
	tests := []struct {
		name       string
		maps       string
		code, heap uintptr
		want       []region
	}{
		{"code and heap", sampleMaps, 0x492b60, 0x61c1dc12340, []region{code, {0x61c1dc12000, 0x61c1dc12000 + maxHeap, true}}},
		{"first and last byte", sampleMaps, 0x400000, 0x61c1dffffff, []region{code, {0x61c1dfff000, 0x61c1e000000, true}}},
		{"end is outside", sampleMaps, 0x10e8000, 0x61c1e000000, nil},
		{"read-only data is not code", sampleMaps, 0x10e8010, 0, nil},
		{"the data segment is not heap", sampleMaps, 0, 0x1ef0010, nil},
		{"reserved heap is not populated", sampleMaps, 0, 0x61c1c000010, nil},
		{"a named heap", sampleMaps, 0, 0x7fb1bac00010, []region{{0x7fb1bac00000, 0x7fb1bac00000 + maxHeap, true}}},
		{"the brk heap is not Go's", sampleMaps, 0, 0x7fb1bb000010, nil},
		{"the stack is not heap", sampleMaps, 0, 0x7fff56359010, nil},
		{"the heap is cut at maxHeap", sampleMaps, 0, 0x7fb1b8920010, []region{{0x7fb1b8920000, 0x7fb1b8920000 + maxHeap, true}}},
		{"a path with spaces, replaced",
			"00400000-00500000 r-xp 00000000 fe:00 1    /opt/mail sift/mailsift (deleted)\n", 0x400100, 0,
			[]region{{0x400000, 0x500000, false}}},
		{"no trailing newline", "00400000-00500000 r-xp 00000000 fe:00 1 /x", 0x400100, 0, []region{{0x400000, 0x500000, false}}},
		{"anonymous executable memory is not code", "00400000-00500000 r-xp 00000000 00:00 0\n", 0x400100, 0, nil},
		{"bad lines are skipped", "garbage\n00400000-00300000 r-xp 0 fe:00 1 /x\n0040000g-00500000 r-xp 0 fe:00 1 /x\n" +
			"00400000-00500000 rwxpx 0 fe:00 1 /x\n00400000-00500000 r-xp 0 fe:00\n00400000-00500000 r-xp 0 fe:00 1 /x\n", 0x400100, 0,
			[]region{{0x400000, 0x500000, false}}},
		{"empty", "", 1, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := regions([]byte(tt.maps), tt.code, tt.heap, 4096)
			if !slices.Equal(got, tt.want) {
				t.Errorf("regions = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzRegions(f *testing.F) {
	f.Add([]byte(sampleMaps), uint64(0x492b60), uint64(0x61c1dc12340), uint64(4096))
	f.Add([]byte("0-1 r-xp 0 0 0 /\n"), uint64(0), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, maps []byte, code, heap, page uint64) {
		for _, r := range regions(maps, uintptr(code), uintptr(heap), uintptr(page)) {
			addr := uintptr(code)
			if r.write {
				addr = uintptr(heap)
				if r.hi-r.lo > maxHeap {
					t.Fatalf("heap region %v is over %d bytes", r, maxHeap)
				}
			}
			if r.lo >= r.hi || addr < r.lo || addr >= r.hi {
				t.Fatalf("region %v does not hold its address %#x", r, addr)
			}
		}
	})
}

func (r region) String() string {
	mode := "read"
	if r.write {
		mode = "write"
	}
	return fmt.Sprintf("[%#x, %#x) %s", r.lo, r.hi, mode)
}
