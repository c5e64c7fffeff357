package logreg

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The hash addresses stored weights: these values must never change.
func TestHashStability(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 2166136261},
		{"a", 0xe40c292c},
		{"subj:free", hashString(offsetToken, "subj:free")},
	} {
		if got := hashString(offsetToken, c.in); got != c.want {
			t.Errorf("hash(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
	p := Params{Bits: 20, Grams: 8}
	got := p.Features([]string{"subj:free", "from@example.com"}, []byte("Subject: free\n"))
	want := []uint32{0x4402b, 0x74ac2, 0x7ff84, 0x92a6c, 0xa6e58, 0xe6152, 0xecfaa}
	if !slices.Equal(got, want) {
		t.Errorf("features %#x, want %#x", got, want)
	}
}

func TestFeatures(t *testing.T) {
	p := Params{Bits: 16, Grams: 6}
	got := p.Features([]string{"a", "a"}, []byte("abcdefgh"))
	// One token (repeats fold), and the 4-grams of "abcdef": abcd bcde cdef.
	if len(got) != 4 || !slices.IsSorted(got) {
		t.Errorf("features %v, want 4 sorted indices", got)
	}
	for _, i := range got {
		if i >= 1<<16 {
			t.Errorf("index %d beyond the table", i)
		}
	}
	if short := p.Features(nil, []byte("abc")); len(short) != 0 {
		t.Errorf("3 bytes give %v, want no 4-gram", short)
	}
}

func TestTrainMovesScore(t *testing.T) {
	m := New(Params{Bits: 10, Rate: 0.1})
	spam, ham := []uint32{1, 2, 3}, []uint32{3, 4, 5}
	if m.Score(spam) != 0.5 {
		t.Fatal("untrained model does not score 0.5")
	}
	for range 100 {
		m.Train(spam, true)
		m.Train(ham, false)
	}
	if s := m.Score(spam); s < 0.9 {
		t.Errorf("spam scores %v", s)
	}
	if s := m.Score(ham); s > 0.1 {
		t.Errorf("ham scores %v", s)
	}
	if s := m.Score([]uint32{3}); math.Abs(s-0.5) > 0.2 {
		t.Errorf("shared feature scores %v, want near 0.5", s)
	}
}

func TestFitOrderAndRepeat(t *testing.T) {
	p := Params{Bits: 12, Rate: 0.05, Grams: 3000}
	var keys [][32]byte
	var exs []Example
	for i := range 40 {
		text := fmt.Sprintf("message %d %s", i, map[bool]string{true: "cheap pills", false: "meeting notes"}[i%2 == 0])
		keys = append(keys, sha256.Sum256([]byte(text)))
		exs = append(exs, Example{Idx: p.Features(nil, []byte(text)), Spam: i%2 == 0, Repeat: 1})
	}
	fit := func(keys [][32]byte, exs []Example) *Model {
		m, err := Fit(p, keys, func(i int, _ []uint32) (Example, error) { return exs[i], nil })
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := fit(keys, exs)
	rk, rx := slices.Clone(keys), slices.Clone(exs)
	slices.Reverse(rk)
	slices.Reverse(rx)
	if b := fit(rk, rx); !slices.Equal(a.W, b.W) {
		t.Error("Fit depends on the order of its input")
	}
	exs[0].Repeat = 5
	if c := fit(keys, exs); c.Margin(exs[0].Idx) <= a.Margin(exs[0].Idx) {
		t.Error("repeating a spam did not raise its margin")
	}
	if _, err := Fit(p, keys, func(int, []uint32) (Example, error) { return Example{}, fmt.Errorf("boom") }); err == nil {
		t.Error("Fit hid the example error")
	}
}

// Fit trains its orders on all cores and still gives, bit for bit, the
// mean of the orders trained one after the other, on any number of cores,
// and the same weights as the serial Fit it replaced (their checksum).
func TestFitIsTheSameOnAnyNumberOfCores(t *testing.T) {
	p := Params{Bits: 12, Rate: 0.05, Grams: 3000}
	var keys [][32]byte
	var exs []Example
	for i := range 60 {
		text := fmt.Sprintf("note %d %s", i, map[bool]string{true: "win a prize now", false: "the agenda for monday"}[i%3 == 0])
		keys = append(keys, sha256.Sum256([]byte(text)))
		exs = append(exs, Example{Idx: p.Features(nil, []byte(text)), Spam: i%3 == 0, Repeat: 1 + i%2})
	}
	example := func(i int, buf []uint32) (Example, error) {
		ex := exs[i]
		ex.Idx = append(buf[:0], ex.Idx...)
		return ex, nil
	}
	want := New(p)
	for o := range Orders {
		m := New(p)
		if err := m.fitOrder(o, keys, example); err != nil {
			t.Fatal(err)
		}
		for i, w := range m.W {
			want.W[i] += w / Orders
		}
	}
	if sum := weightsChecksum(want.W); sum != 0x2cd7e7b39499f4a7 {
		t.Errorf("the orders trained in turn give weights %#x, not those of the serial Fit", sum)
	}
	for _, procs := range []int{1, 2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		got, err := Fit(p, keys, example)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.W, want.W) {
			t.Errorf("GOMAXPROCS=%d: Fit differs from the orders trained in turn", procs)
		}
	}
}

// weightsChecksum is the FNV-1a hash of the weights' bits.
func weightsChecksum(w []float32) uint64 {
	h := fnv.New64a()
	for _, x := range w {
		_ = binary.Write(h, binary.LittleEndian, math.Float32bits(x))
	}
	return h.Sum64()
}

func TestRadixSort(t *testing.T) {
	for _, n := range []int{0, 5, 64, 3000} {
		a := make([]uint32, n)
		for i := range a {
			a[i] = uint32(i*2654435761) & (1<<20 - 1)
		}
		want := slices.Clone(a)
		slices.Sort(want)
		if got := radixSort(a, 20); !slices.Equal(got, want) {
			t.Errorf("n=%d: not sorted", n)
		}
	}
}

// The bitmap and the sort give the same indices, AppendDistinct gives them
// too (in another order, after what dst held), and a bitmap is empty again
// after use.
func TestFeaturesBitmapAndSort(t *testing.T) {
	tokens := []string{"subj:free", "from@example.com", "subj:free", "url:example.com"}
	raw := []byte("From a@b Mon Jan  1 00:00:00 2024\r\nSubject: free money\r\n\r\nfree money free money free money\r\n")
	for _, width := range []uint{8, 16, 20, 22} {
		p := Params{Bits: width, Grams: 3000}
		wide := Params{Bits: 22, Grams: 3000}
		want := slices.Clone(wide.Features(tokens, raw))
		for i := range want {
			want[i] &= 1<<width - 1
		}
		slices.Sort(want)
		want = slices.Compact(want)
		for range 2 {
			if got := p.Features(tokens, raw); !slices.Equal(got, want) {
				t.Errorf("width %d: %v, want %v", width, got, want)
			}
			got := p.AppendDistinct([]uint32{7}, tokens, raw)
			if got[0] != 7 || len(got) != len(want)+1 || !slices.Equal(slices.Sorted(slices.Values(got[1:])), want) {
				t.Errorf("width %d: distinct %v, want 7 then %v in any order", width, got, want)
			}
		}
	}
}

// AppendDistinct leaves its bitmap empty: messages that share features,
// one after the other, each get all of theirs.
func TestDistinctEmptiesBitmap(t *testing.T) {
	p := DefaultParams()
	msgs := [][]byte{
		[]byte("Subject: cheap pills\r\n\r\ncheap pills for you\r\n"),
		[]byte("Subject: cheap pills\r\n\r\ncheap pills, and a meeting\r\n"),
	}
	var wants [][]uint32 // first: Features would empty a bitmap left full
	for _, raw := range msgs {
		wants = append(wants, p.Features(strings.Fields(string(raw)), raw))
	}
	for i := range 6 {
		raw, want := msgs[i%2], wants[i%2]
		tokens := strings.Fields(string(raw))
		if got := slices.Sorted(slices.Values(p.AppendDistinct(nil, tokens, raw))); !slices.Equal(got, want) {
			t.Fatalf("message %d: %d distinct indices, want %d", i, len(got), len(want))
		}
	}
}

func TestHashGram(t *testing.T) {
	for _, g := range []string{"abcd", "\x00\x00\x00\x00", "\xff\xfe\r\n", "Subj"} {
		if got, want := hashGram([]byte(g)), hashBytes(offsetGram, []byte(g)); got != want {
			t.Errorf("hashGram(%q) = %#x, want %#x", g, got, want)
		}
	}
}

// A panic in an example reaches Fit's caller, where a recover can catch
// it, instead of ending the process from a worker goroutine.
func TestFitRaisesAWorkerPanicInTheCaller(t *testing.T) {
	keys := [][32]byte{{1}, {2}}
	defer func() {
		if r := recover(); r != "bad vector" {
			t.Errorf("recovered %v, want the example's panic", r)
		}
	}()
	_, _ = Fit(Params{Bits: 8, Rate: 0.1}, keys, func(int, []uint32) (Example, error) { panic("bad vector") })
	t.Error("Fit returned")
}
