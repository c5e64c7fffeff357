package prefault

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The test binary ran init too: its code and its first heap pages are
// mapped in this process, which smaps counts in Rss.
func TestInitPopulates(t *testing.T) {
	if errors.Is(failed, syscall.EINVAL) {
		t.Skipf("this kernel (before Linux 5.14) has no MADV_POPULATE: %v", failed)
	}
	if failed != nil {
		t.Fatalf("init failed: %v", failed)
	}
	if len(populated) != 2 || populated[0].write == populated[1].write {
		t.Fatalf("populated %v, want the code and the heap", populated)
	}
	rss, err := residentBytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range populated {
		got, ok := rss[r.lo]
		if !ok {
			t.Errorf("no mapping starts at %x in smaps", r.lo)
			continue
		}
		if want := uint64(r.hi - r.lo); got < want {
			t.Errorf("mapping at %x: %d bytes resident, want at least the %d populated", r.lo, got, want)
		}
	}
}

// residentBytes reads /proc/self/smaps: each mapping's start and its Rss.
func residentBytes() (map[uintptr]uint64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rss := map[uintptr]uint64{}
	var start uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m, ok := parseMapping([]byte(line)); ok {
			start = m.lo
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("smaps: %q: %w", line, err)
			}
			rss[start] = kb << 10
		}
	}
	return rss, sc.Err()
}
