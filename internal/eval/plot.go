package eval

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Plot writes an SVG with two panels: the ROC curve of the scores (spam
// caught against good mail lost, the lost-mail axis logarithmic from 0.01%
// to 100%, where filters differ), and the histograms of the ham and spam
// scores over [0, 1] (counts on a logarithmic scale). title heads the
// picture.
func Plot(w io.Writer, samples []Sample, title string) error {
	const (
		width, height = 960, 480
		panel         = 380
		top, left     = 50, 60
		gap           = 110
	)
	var ham, spam []float64
	for _, s := range samples {
		if s.Spam {
			spam = append(spam, s.Score)
		} else {
			ham = append(ham, s.Score)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15">%s</text>`+"\n", left, escape(title))

	// ROC panel.
	x0, y0 := float64(left), float64(top)
	frame(&b, x0, y0, panel, "good mail lost (false positive rate, log scale)", "spam caught (true positive rate)")
	const minFP = 1e-4
	fx := func(fp float64) float64 {
		fp = math.Max(fp, minFP)
		return x0 + panel*(math.Log10(fp)-math.Log10(minFP))/(-math.Log10(minFP))
	}
	fy := func(tp float64) float64 { return y0 + panel*(1-tp) }
	for _, t := range []float64{1e-4, 1e-3, 1e-2, 1e-1, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", fx(t), y0+panel+16, percentLabel(t))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", fx(t), y0, fx(t), y0+panel)
	}
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", x0-6, fy(t)+4, 100*t)
	}
	var pts []string
	for _, p := range rocPoints(ham, spam) {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", fx(p[0]), fy(p[1])))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#c0392b" stroke-width="2" points="%s"/>`+"\n", strings.Join(pts, " "))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">ROC AUC %.5f</text>`+"\n", x0+10, fy(0.02), AUC(ham, spam))

	// Histogram panel.
	hx := x0 + panel + gap
	frame(&b, hx, y0, panel, "score", "messages (log scale)")
	const bins = 20
	hh, hs := histogram(ham, bins), histogram(spam, bins)
	maxCount := 1
	for i := range bins {
		maxCount = max(maxCount, hh[i], hs[i])
	}
	hy := func(n int) float64 {
		if n == 0 {
			return 0
		}
		return panel * math.Log10(float64(n)+1) / math.Log10(float64(maxCount)+1)
	}
	bw := float64(panel) / bins
	for i := range bins {
		bx := hx + float64(i)*bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2e86c1" fill-opacity="0.6"/>`+"\n", bx, y0+panel-hy(hh[i]), bw/2, hy(hh[i]))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c0392b" fill-opacity="0.6"/>`+"\n", bx+bw/2, y0+panel-hy(hs[i]), bw/2, hy(hs[i]))
	}
	for _, t := range []float64{0, 0.2, 0.4, 0.6, 0.8, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.1f</text>`+"\n", hx+panel*t, y0+panel+16, t)
	}
	for _, n := range []int{1, 10, 100, 1000, 10000} {
		if n <= maxCount {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%d</text>`+"\n", hx-6, y0+panel-hy(n)+4, n)
		}
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="#2e86c1"/><text x="%.1f" y="%.1f">ham (%d)</text>`+"\n", hx+panel-110, y0+8, hx+panel-95, y0+17, len(ham))
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="#c0392b"/><text x="%.1f" y="%.1f">spam (%d)</text>`+"\n", hx+panel-110, y0+26, hx+panel-95, y0+35, len(spam))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func frame(b *strings.Builder, x, y, size float64, xlabel, ylabel string) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="black"/>`+"\n", x, y, size, size)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x+size/2, y+size+34, xlabel)
	fmt.Fprintf(b, `<text transform="translate(%.1f,%.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", x-42, y+size/2, ylabel)
}

func percentLabel(f float64) string { return fmt.Sprintf("%g%%", 100*f) }

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// rocPoints returns (false positive rate, true positive rate) pairs for
// every distinct threshold, from the strictest to the most lenient.
func rocPoints(ham, spam []float64) [][2]float64 {
	if len(ham) == 0 || len(spam) == 0 {
		return nil
	}
	items := labelled(ham, spam)
	sort.Slice(items, func(i, j int) bool { return items[i].score > items[j].score })
	pts := [][2]float64{{0, 0}}
	var fp, tp int
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].score == items[i].score {
			if items[j].spam {
				tp++
			} else {
				fp++
			}
			j++
		}
		pts = append(pts, [2]float64{float64(fp) / float64(len(ham)), float64(tp) / float64(len(spam))})
		i = j
	}
	return pts
}

func histogram(scores []float64, bins int) []int {
	h := make([]int, bins)
	for _, s := range scores {
		i := int(s * float64(bins))
		h[min(max(i, 0), bins-1)]++
	}
	return h
}
