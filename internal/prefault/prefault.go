// Package prefault has the kernel map in, as a mailsift process starts,
// the memory that every command touches first: the executable's code and
// the Go heap's first arena. Importing it (for its side effect, from main)
// is all there is to it.
//
// A mailsift binary links the NATS server, PDFium's WebAssembly runtime and
// the other analysis libraries, and their package initialisers run in
// every process, `mark` included. Before main starts, such a process takes
// about 800 page faults: code pages read for the first time and heap pages
// written for the first time. On a virtual machine a fault costs 10 to 25
// µs, where mapping the same pages in one madvise(MADV_POPULATE_READ or
// _WRITE) call costs a fraction of that: on the machine this was measured
// on, `mark` took 34 ms with one fault per page and 29 ms with the two
// calls made here.
//
// Data flow: init reads /proc/self/maps, [regions] picks from it the
// mapping of the code that holds an address of this package and the
// anonymous mapping that holds a fresh heap object, and each is populated
// with one system call. The read-only data is left out (populating it cost
// as much as the faults it saved), as are the heap the runtime maps later
// and the runtime's own off-heap structures. Any failure (another
// operating system, a kernel before 5.14, no /proc) leaves the pages to
// come one fault at a time, as they would without this package. A
// process's resident size then counts all of its code, which is shared
// with every other mailsift process through the page cache.
//
// The package imports only runtime, syscall and unsafe, so that it runs
// before the initialisers of the large libraries.
package prefault

// region is a range of addresses to populate, [lo, hi), and whether the
// pages are to be written (the heap) or only read (the code).
type region struct {
	lo, hi uintptr
	write  bool
}

// maxHeap bounds the heap region: the runtime maps its first arena a few
// megabytes at a time, and populating is worth it only for what the start
// of a process uses.
const maxHeap = 8 << 20

// regions returns the regions to populate, given the text of
// /proc/self/maps, an address in the executable's code and the address of
// an object on the heap: the file-backed, executable mapping that holds
// code, and the first maxHeap bytes of the private, writable, unnamed
// anonymous mapping that holds heap. A line that does not parse is skipped.
func regions(maps []byte, code, heap uintptr) []region {
	var out []region
	for len(maps) > 0 {
		var line []byte
		line, maps = cut(maps, '\n')
		m, ok := parseMapping(line)
		switch {
		case !ok:
		case m.lo <= code && code < m.hi && m.perms == "r-xp" && len(m.name) > 0 && m.name[0] == '/':
			out = append(out, region{m.lo, m.hi, false})
		case m.lo <= heap && heap < m.hi && m.perms == "rw-p" && m.name == "":
			out = append(out, region{m.lo, min(m.hi, m.lo+maxHeap), true})
		}
	}
	return out
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	lo, hi uintptr
	perms  string // "r-xp" and the like
	name   string // the file's path, "[stack]" and the like, or "" for anonymous memory
}

// parseMapping reads a line such as
//
//	00400000-010e8000 r-xp 00000000 fe:00 10240041    /usr/bin/mailsift
//
// into its range, permissions and the name after the inode (its first
// word: a path with spaces is cut).
func parseMapping(line []byte) (mapping, bool) {
	var m mapping
	var field [6][]byte
	n := 0
	for n < len(field) {
		for len(line) > 0 && line[0] == ' ' {
			line = line[1:]
		}
		if len(line) == 0 {
			break
		}
		field[n], line = cut(line, ' ')
		n++
	}
	if n < 5 || len(field[1]) != 4 {
		return m, false
	}
	lo, hi := cut(field[0], '-')
	var ok1, ok2 bool
	m.lo, ok1 = parseHex(lo)
	m.hi, ok2 = parseHex(hi)
	if !ok1 || !ok2 || m.hi <= m.lo {
		return m, false
	}
	m.perms = string(field[1])
	if n == 6 {
		m.name = string(field[5])
	}
	return m, true
}

// cut splits b at the first sep, which it drops.
func cut(b []byte, sep byte) (before, after []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// parseHex reads a lower-case hexadecimal number of at most 16 digits.
func parseHex(b []byte) (uintptr, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uintptr
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uintptr(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uintptr(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
