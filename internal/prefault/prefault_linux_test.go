package prefault

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// supported skips the test where the kernel cannot populate (before Linux
// 5.14, or a sandbox that filters madvise): the package then does
// nothing, by design.
func supported(t *testing.T) {
	t.Helper()
	mem := mapAnonymous(t, 4096)
	err := populate(region{addrOf(mem), addrOf(mem) + 4096, true})
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSYS) {
		t.Skipf("this kernel cannot populate (%v): the package leaves the pages to page faults", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// The test binary ran init too: it must have found its code and its heap.
func TestInitPopulated(t *testing.T) {
	supported(t)
	if errors.Is(failed, syscall.ENOENT) || errors.Is(failed, syscall.EACCES) {
		t.Skipf("no /proc here: %v", failed)
	}
	if failed != nil {
		t.Fatal(failed)
	}
	pc, _, _, _ := runtime.Caller(0)
	heap := uintptr(unsafe.Pointer(probe))
	if len(populated) != 2 {
		t.Fatalf("populated %v, want the code and the heap", populated)
	}
	if c := populated[0]; c.write || pc < c.lo || pc >= c.hi {
		t.Errorf("code region %v does not hold this test's code at %#x", c, pc)
	}
	page := uintptr(syscall.Getpagesize())
	if h := populated[1]; !h.write || h.lo != heap&^(page-1) || h.hi-h.lo > maxHeap {
		t.Errorf("heap region %v does not start at the page of the heap object at %#x", h, heap)
	}
}

// populate backs every page of a region, to be read or written: mincore
// says none is there before and all are after.
func TestPopulate(t *testing.T) {
	supported(t)
	const size = 64 << 10
	for _, write := range []bool{false, true} {
		mem := mapAnonymous(t, size)
		r := region{addrOf(mem), addrOf(mem) + size, write}
		if n := resident(t, mem); n != 0 {
			t.Fatalf("%v: %d pages resident before", r, n)
		}
		if err := populate(r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if n, want := resident(t, mem), size/syscall.Getpagesize(); n != want {
			t.Errorf("%v: %d pages resident after, want %d", r, n, want)
		}
	}
}

func mapAnonymous(t *testing.T, size int) []byte {
	t.Helper()
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Munmap(mem); err != nil {
			t.Error(err)
		}
	})
	return mem
}

func addrOf(mem []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(mem))) }

// resident counts the pages of mem that mincore reports in memory.
func resident(t *testing.T, mem []byte) int {
	t.Helper()
	vec := make([]byte, (len(mem)+syscall.Getpagesize()-1)/syscall.Getpagesize())
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, addrOf(mem), uintptr(len(mem)), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
