package outlook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
)

// This file writes compound files (MS-CFB version 3, 512-byte sectors) for
// the tests: a FAT, a directory, and a mini stream with its mini FAT for the
// streams under 4096 bytes.

const (
	cfbSector     = 512
	cfbMini       = 64
	cfbCutoff     = 4096
	cfbFree       = 0xFFFFFFFF
	cfbEnd        = 0xFFFFFFFE
	cfbFATSect    = 0xFFFFFFFD
	cfbNoStream   = 0xFFFFFFFF
	cfbTypeStore  = 1
	cfbTypeStream = 2
	cfbTypeRoot   = 5
)

// cfbEntry is a storage (children) or a stream (data).
type cfbEntry struct {
	name     string
	data     []byte
	children []*cfbEntry
	storage  bool

	id, left, right, child uint32
	start                  uint32
}

func stream(name string, data []byte) *cfbEntry { return &cfbEntry{name: name, data: data} }

func storage(name string, children ...*cfbEntry) *cfbEntry {
	return &cfbEntry{name: name, children: children, storage: true}
}

// cfbLess orders siblings as the format wants: shorter names first, then
// by upper-cased code units.
func cfbLess(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	if len(ua) != len(ub) {
		return len(ua) < len(ub)
	}
	return strings.ToUpper(a) < strings.ToUpper(b)
}

// buildCFB lays out the compound file holding the children of the root.
func buildCFB(children ...*cfbEntry) []byte {
	root := &cfbEntry{name: "Root Entry", children: children, storage: true}

	// Number the entries, root first, and link each storage's children as
	// a chain of right siblings sorted by name.
	var all []*cfbEntry
	var number func(e *cfbEntry)
	number = func(e *cfbEntry) {
		e.id = uint32(len(all))
		all = append(all, e)
		e.left, e.right, e.child = cfbNoStream, cfbNoStream, cfbNoStream
		sort.SliceStable(e.children, func(i, j int) bool { return cfbLess(e.children[i].name, e.children[j].name) })
		for _, c := range e.children {
			number(c)
		}
		for i, c := range e.children {
			if i == 0 {
				e.child = c.id
			}
			if i+1 < len(e.children) {
				c.right = e.children[i+1].id
			}
		}
	}
	number(root)

	// Small streams go to the mini stream.
	var ministream []byte
	var minifat []uint32
	for _, e := range all {
		if e.storage || len(e.data) == 0 || len(e.data) >= cfbCutoff {
			continue
		}
		e.start = uint32(len(minifat))
		n := (len(e.data) + cfbMini - 1) / cfbMini
		for i := 0; i < n; i++ {
			if i+1 < n {
				minifat = append(minifat, uint32(len(minifat)+1))
			} else {
				minifat = append(minifat, cfbEnd)
			}
		}
		ministream = append(ministream, e.data...)
		ministream = append(ministream, make([]byte, n*cfbMini-len(e.data))...)
	}

	sectors := func(n int) int { return (n + cfbSector - 1) / cfbSector }
	var fat []uint32
	var body bytes.Buffer
	// chain appends n sectors of data to the body and links them in the FAT.
	chain := func(data []byte) uint32 {
		n := sectors(len(data))
		if n == 0 {
			return cfbEnd
		}
		start := uint32(len(fat))
		for i := 0; i < n; i++ {
			if i+1 < n {
				fat = append(fat, uint32(len(fat)+1))
			} else {
				fat = append(fat, cfbEnd)
			}
		}
		body.Write(data)
		body.Write(make([]byte, n*cfbSector-len(data)))
		return start
	}
	for _, e := range all {
		if !e.storage && len(e.data) >= cfbCutoff {
			e.start = chain(e.data)
		}
	}
	root.start = chain(ministream)
	var mf bytes.Buffer
	for _, v := range minifat {
		binary.Write(&mf, binary.LittleEndian, v)
	}
	for mf.Len()%cfbSector != 0 {
		binary.Write(&mf, binary.LittleEndian, uint32(cfbFree))
	}
	miniFATStart := chain(mf.Bytes())
	miniFATSectors := sectors(mf.Len())

	var dir bytes.Buffer
	for _, e := range all {
		dir.Write(dirEntry(e, len(ministream)))
	}
	for dir.Len()%cfbSector != 0 {
		unused := make([]byte, 128)
		binary.LittleEndian.PutUint32(unused[68:], cfbNoStream)
		binary.LittleEndian.PutUint32(unused[72:], cfbNoStream)
		binary.LittleEndian.PutUint32(unused[76:], cfbNoStream)
		dir.Write(unused)
	}
	dirStart := chain(dir.Bytes())

	// The FAT describes itself too.
	nFAT := 1
	for (len(fat)+nFAT)*4 > nFAT*cfbSector {
		nFAT++
	}
	if nFAT > 109 {
		panic("test compound file too large for a header-only DIFAT")
	}
	fatStart := uint32(len(fat))
	for i := 0; i < nFAT; i++ {
		fat = append(fat, cfbFATSect)
	}
	for len(fat) < nFAT*cfbSector/4 {
		fat = append(fat, cfbFree)
	}
	for _, v := range fat {
		binary.Write(&body, binary.LittleEndian, v)
	}

	h := make([]byte, cfbSector)
	copy(h, oleMagic)
	binary.LittleEndian.PutUint16(h[24:], 0x3E)
	binary.LittleEndian.PutUint16(h[26:], 3)
	binary.LittleEndian.PutUint16(h[28:], 0xFFFE)
	binary.LittleEndian.PutUint16(h[30:], 9)
	binary.LittleEndian.PutUint16(h[32:], 6)
	binary.LittleEndian.PutUint32(h[44:], uint32(nFAT))
	binary.LittleEndian.PutUint32(h[48:], dirStart)
	binary.LittleEndian.PutUint32(h[56:], cfbCutoff)
	if miniFATSectors > 0 {
		binary.LittleEndian.PutUint32(h[60:], miniFATStart)
	} else {
		binary.LittleEndian.PutUint32(h[60:], cfbEnd)
	}
	binary.LittleEndian.PutUint32(h[64:], uint32(miniFATSectors))
	binary.LittleEndian.PutUint32(h[68:], cfbEnd)
	for i := 0; i < 109; i++ {
		v := uint32(cfbFree)
		if i < nFAT {
			v = fatStart + uint32(i)
		}
		binary.LittleEndian.PutUint32(h[76+4*i:], v)
	}
	return append(h, body.Bytes()...)
}

func dirEntry(e *cfbEntry, miniLen int) []byte {
	b := make([]byte, 128)
	name := utf16.Encode([]rune(e.name))
	if len(name) > 31 {
		panic(fmt.Sprintf("name %q too long", e.name))
	}
	for i, u := range name {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	binary.LittleEndian.PutUint16(b[64:], uint16(2*(len(name)+1)))
	switch {
	case e.id == 0:
		b[66] = cfbTypeRoot
	case e.storage:
		b[66] = cfbTypeStore
	default:
		b[66] = cfbTypeStream
	}
	b[67] = 1 // black
	binary.LittleEndian.PutUint32(b[68:], e.left)
	binary.LittleEndian.PutUint32(b[72:], e.right)
	binary.LittleEndian.PutUint32(b[76:], e.child)
	size := len(e.data)
	start := e.start
	switch {
	case e.id == 0:
		size = miniLen
	case e.storage:
		start = 0
	case size == 0:
		start = cfbEnd
	}
	binary.LittleEndian.PutUint32(b[116:], start)
	binary.LittleEndian.PutUint32(b[120:], uint32(size))
	return b
}
