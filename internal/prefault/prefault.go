// Package prefault has the kernel map in, as a mailsift process starts,
// the memory that every command touches first: the executable's code and
// the first megabytes of the Go heap. Importing it (for its side effect,
// from main) is all there is to it.
//
// A mailsift binary links the NATS server, PDFium's WebAssembly runtime and
// the other analysis libraries, and their package initialisers run in
// every process, `mark` included. A `mailsift help` process took about 830
// page faults (as perf counts them), most of them in those initialisers:
// code pages read for the first time and heap pages written for the first
// time. On a virtual machine a fault costs 10 to 25 µs, where mapping the
// same pages in one madvise(MADV_POPULATE_READ or _WRITE) call costs a
// fraction of that: on the machine this was measured on, `help` took 470
// faults instead and `mark` ran about a fifth faster. (The pages populated here are
// still counted as minor faults by getrusage, but no longer each trap
// into the kernel.)
//
// Data flow: init reads /proc/self/maps, [regions] picks from it the
// mapping of the code that holds an address of this package and the
// anonymous mapping that holds a fresh heap object, and each is populated
// with one system call: the whole code, and the heap from that object's
// page on for maxHeap bytes (the runtime leaves a random stretch below the
// heap's start unused). The read-only data is left out (populating it cost
// as much as the faults it saved), as are the heap the runtime maps later
// and the runtime's own off-heap structures. Any failure (another
// operating system, a kernel before 5.14, no /proc) leaves the pages to
// come one fault at a time, as they would without this package.
//
// The cost is memory: a process's resident size counts all of its code
// (13 MB, shared with every other mailsift process through the page
// cache, but read from disk in full when the cache is cold) and up to
// maxHeap bytes of private heap pages, which the heap grows into.
//
// The package imports only runtime, syscall and unsafe. Go initialises
// each package as soon as its imports are, the lower import path first,
// so this one runs right after package syscall, before the initialisers
// of the large libraries.
package prefault

// region is a range of addresses to populate, [lo, hi), and whether the
// pages are to be written (the heap) or only read (the code).
type region struct {
	lo, hi uintptr
	write  bool
}

// maxHeap bounds the heap region: about what a `mark` allocates (4 MB
// made it no faster), and less than the runtime maps at first.
const maxHeap = 2 << 20

// regions returns the regions to populate, given the text of
// /proc/self/maps, an address in the executable's code, the address of an
// object on the heap and the page size: the file-backed, executable
// mapping that holds code, and the maxHeap bytes from heap's page on of
// the private, writable, anonymous mapping that holds heap. A line that
// does not parse is skipped.
func regions(maps []byte, code, heap, page uintptr) []region {
	var out []region
	for len(maps) > 0 {
		var line []byte
		line, maps = cut(maps, '\n')
		m, ok := parseMapping(line)
		switch {
		case !ok:
		case m.lo <= code && code < m.hi && string(m.perms) == "r-xp" && len(m.name) > 0 && m.name[0] == '/':
			out = append(out, region{m.lo, m.hi, false})
		case m.lo <= heap && heap < m.hi && string(m.perms) == "rw-p" && anonymous(m.name):
			lo, hi := max(heap&^(page-1), m.lo), m.hi
			if hi-lo > maxHeap {
				hi = lo + maxHeap
			}
			out = append(out, region{lo, hi, true})
		}
	}
	return out
}

// anonymous reports whether a mapping's name is that of anonymous memory:
// none, or one given with prctl(PR_SET_VMA_ANON_NAME), as the runtime
// names its heap "[anon: Go: heap]" where the kernel allows it. The stack
// and the brk heap have names of their own.
func anonymous(name []byte) bool {
	return len(name) == 0 || len(name) >= 6 && string(name[:6]) == "[anon:"
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	lo, hi uintptr
	perms  []byte // "r-xp" and the like
	name   []byte // a path, "[stack]", "[anon:NAME]" and the like, or empty
}

// parseMapping reads a line such as
//
//	00400000-010e8000 r-xp 00000000 fe:00 10240041    /usr/bin/mailsift
//
// into its range, its permissions and the name after the inode, which
// runs to the end of the line (a path may hold spaces).
func parseMapping(line []byte) (mapping, bool) {
	var m mapping
	var field [5][]byte
	for i := range field {
		line = trimSpaces(line)
		if len(line) == 0 {
			return m, false
		}
		field[i], line = cut(line, ' ')
	}
	if len(field[1]) != 4 {
		return m, false
	}
	lo, hi := cut(field[0], '-')
	var ok1, ok2 bool
	m.lo, ok1 = parseHex(lo)
	m.hi, ok2 = parseHex(hi)
	if !ok1 || !ok2 || m.hi <= m.lo {
		return m, false
	}
	m.perms, m.name = field[1], trimSpaces(line)
	return m, true
}

// trimSpaces drops the spaces that b starts with.
func trimSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
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
