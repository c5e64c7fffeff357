package attach

import (
	"context"
	"runtime"
	"slices"
	"testing"

	"github.com/mailsift/mailsift/internal/attach/attachtest"
)

// allocated is the number of bytes allocated so far by the process.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestBomb analyses a 42.zip-like archive: four levels of 16 zips over
// 64 MiB leaves of zeros, 4 TiB expanded. It must stop at the limits and
// allocate about what the limits allow, not what the archive declares.
func TestBomb(t *testing.T) {
	data := attachtest.Bomb(t, 4, 64)
	tests := []struct {
		name    string
		lim     Limits
		defects []string // defect names that must occur somewhere
		alloc   uint64
	}{
		{"defaults", Limits{}, []string{DefectMemberLimit, DefectRatioLimit}, 32 << 20},
		{"no ratio limit", Limits{MaxRatio: 1e12}, []string{DefectMemberLimit, DefectSizeLimit}, 2 * DefaultMaxTotalBytes},
		{"big members", Limits{MaxRatio: 1e12, MaxMemberBytes: 1 << 30}, []string{DefectMemberLimit, DefectSizeLimit}, 4 * DefaultMaxTotalBytes},
		{"shallow", Limits{MaxDepth: 2}, []string{DefectDepthLimit}, 32 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			before := allocated()
			f := Analyze(context.Background(), "42.zip", "application/zip", data, Options{Limits: tt.lim})
			grew := allocated() - before
			var names []string
			members := 0
			f.Walk(func(m *Facts) {
				if m.Path != "" {
					members++
				}
				for _, d := range m.Defects {
					names = append(names, d.Name)
				}
			})
			for _, want := range tt.defects {
				if !slices.Contains(names, want) {
					t.Errorf("no %s defect among %d: %v", want, len(names), compact(names))
				}
			}
			lim := tt.lim.withDefaults()
			if members > lim.MaxMembers {
				t.Errorf("%d members listed, limit %d", members, lim.MaxMembers)
			}
			if grew > tt.alloc {
				t.Errorf("allocated %d MiB, want at most %d MiB", grew>>20, tt.alloc>>20)
			}
			t.Logf("%d bytes in, %d members, allocated %.1f MiB", len(data), members, float64(grew)/(1<<20))
		})
	}
}

// compact lists the distinct names in s.
func compact(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
