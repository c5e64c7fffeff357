package doctext

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// partKind tells the XML walker which vocabulary a zip member speaks.
type partKind int

const (
	partOOXML partKind = iota // WordprocessingML, SpreadsheetML, PresentationML
	partRels                  // OPC relationships
	partODF                   // OpenDocument content.xml
)

// officePart is a zip member chosen for reading, with its place in the
// reading order.
type officePart struct {
	f     *zip.File
	kind  partKind
	group int
	num   int
}

// readOffice reads an OOXML or OpenDocument package. The members holding
// text are read in document order (body, headers and notes; slides in
// number order; shared strings before sheets), then the relationship parts
// for external link targets.
func readOffice(ctx context.Context, data []byte, b *builder) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if errors.Is(err, zip.ErrInsecurePath) && zr != nil {
		b.defect("office: %v", err)
	} else if err != nil {
		return fmt.Errorf("doctext: office: %w", err)
	}
	var parts []officePart
	odf := false
	for _, f := range zr.File {
		if n := normName(f.Name); n == "content.xml" {
			odf = true
		}
	}
	for _, f := range zr.File {
		if p, ok := classify(f, odf); ok {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return errors.New("doctext: office: no document parts")
	}
	sort.SliceStable(parts, func(i, j int) bool {
		if parts[i].group != parts[j].group {
			return parts[i].group < parts[j].group
		}
		if parts[i].num != parts[j].num {
			return parts[i].num < parts[j].num
		}
		return parts[i].f.Name < parts[j].f.Name
	})
	if len(parts) > b.limits.MaxMembers {
		b.defect("office: %d parts, read %d", len(parts), b.limits.MaxMembers)
		b.truncated = true
		parts = parts[:b.limits.MaxMembers]
	}

	left := b.limits.MaxInflate
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("doctext: office: %w", err)
		}
		if left <= 0 {
			b.defect("office: inflate limit reached before %s", p.f.Name)
			b.truncated = true
			break
		}
		if b.full() && p.kind != partRels {
			continue
		}
		n, err := readPart(p, min(left, b.limits.MaxMemberSize), b)
		left -= n
		if err != nil {
			b.defect("office: %s: %v", p.f.Name, err)
		}
		if p.kind != partRels {
			b.newline()
		}
	}
	return nil
}

// normName lower-cases a member name and turns backslashes into slashes:
// OPC part names are case-insensitive and some writers use backslashes.
func normName(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, `\`, "/"))
}

// classify picks the members worth reading and orders them.
func classify(f *zip.File, odf bool) (officePart, bool) {
	name := normName(f.Name)
	dir, base := path.Split(name)
	num := trailingNumber(strings.TrimSuffix(base, ".xml"))
	p := officePart{f: f, num: num}
	if odf {
		if name == "content.xml" {
			p.kind = partODF
			return p, true
		}
		return p, false
	}
	switch {
	case strings.HasSuffix(name, ".rels"):
		p.kind, p.group = partRels, 100
	case name == "word/document.xml":
		p.group = 0
	case dir == "word/" && (strings.HasPrefix(base, "header") || strings.HasPrefix(base, "footer")):
		p.group = 1
	case name == "word/footnotes.xml", name == "word/endnotes.xml", name == "word/comments.xml":
		p.group = 2
	case dir == "ppt/slides/" && strings.HasPrefix(base, "slide"):
		p.group = 10
	case dir == "ppt/notesslides/" && strings.HasPrefix(base, "notesslide"):
		p.group = 11
	case name == "xl/sharedstrings.xml":
		p.group = 20
	case dir == "xl/worksheets/" && strings.HasPrefix(base, "sheet"):
		p.group = 21
	case dir == "xl/" && strings.HasPrefix(base, "comments"):
		p.group = 22
	case dir == "xl/drawings/" && strings.HasPrefix(base, "drawing"):
		p.group = 23
	default:
		return p, false
	}
	return p, strings.HasSuffix(name, ".xml") || p.kind == partRels
}

// trailingNumber returns the number ending s ("slide12" gives 12), or 0.
func trailingNumber(s string) int {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return 0
	}
	return n
}

// readPart streams one member through the walker for its kind, inflating at
// most limit bytes, and returns the bytes inflated.
func readPart(p officePart, limit int64, b *builder) (int64, error) {
	rc, err := p.f.Open()
	if err != nil {
		return 0, err
	}
	lr := &io.LimitedReader{R: rc, N: limit + 1}
	dec := xml.NewDecoder(lr)
	dec.Strict = false
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var w walker
	switch p.kind {
	case partRels:
		w = &relsWalker{b: b}
	case partODF:
		w = &odfWalker{b: b}
	default:
		w = &ooxmlWalker{b: b}
	}
	var walkErr error
	for {
		tok, err := dec.RawToken()
		if err != nil {
			if err != io.EOF {
				walkErr = err
			}
			break
		}
		w.token(tok)
		if b.textFull && p.kind != partRels {
			break
		}
	}
	w.finish()
	used := limit + 1 - lr.N
	if lr.N <= 0 {
		used = limit
		b.truncated = true
		walkErr = fmt.Errorf("member larger than %d bytes", limit)
	}
	if err := rc.Close(); err != nil && walkErr == nil {
		walkErr = err
	}
	return used, walkErr
}

type walker interface {
	token(xml.Token)
	finish()
}

// ooxmlWalker takes the text of t elements (w:t, a:t and SpreadsheetML t),
// turns paragraphs, rows and cells into newlines and tabs, and reads the
// link targets of field codes and HYPERLINK formulas.
type ooxmlWalker struct {
	b       *builder
	inText  int // depth inside t
	inRun   int // depth inside r
	skip    int // depth inside phonetic runs and mc:Fallback, which repeat the text
	inInstr int
	inF     int
	inCell  int             // depth inside table cells, whose paragraphs share a line
	instr   strings.Builder // field code of the current paragraph
	formula strings.Builder
}

func (w *ooxmlWalker) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		switch t.Name.Local {
		case "t":
			w.inText++
		case "tc":
			w.inCell++
		case "r":
			w.inRun++
		case "rPh", "Fallback":
			w.skip++
		case "instrText":
			w.inInstr++
		case "f":
			w.inF++
			w.formula.Reset()
		case "tab":
			if w.inRun > 0 {
				w.b.tab()
			}
		case "br", "cr":
			w.b.newline()
		case "fldSimple":
			for _, a := range t.Attr {
				if a.Name.Local == "instr" {
					fieldLinks(a.Value, w.b)
				}
			}
		}
	case xml.EndElement:
		switch t.Name.Local {
		case "t":
			w.inText = max(0, w.inText-1)
		case "r":
			w.inRun = max(0, w.inRun-1)
		case "rPh", "Fallback":
			w.skip = max(0, w.skip-1)
		case "instrText":
			w.inInstr = max(0, w.inInstr-1)
		case "f":
			w.inF = max(0, w.inF-1)
			formulaLinks(w.formula.String(), w.b)
			w.formula.Reset()
		case "p":
			w.flushInstr()
			if w.inCell > 0 {
				w.b.space()
			} else {
				w.b.newline()
			}
		case "si", "tr", "row":
			w.b.newline()
		case "tc", "c":
			w.inCell = max(0, w.inCell-1)
			w.b.tab()
		}
	case xml.CharData:
		switch {
		case w.inInstr > 0:
			if w.instr.Len() < 8192 {
				w.instr.Write(t)
			}
		case w.inF > 0:
			if w.formula.Len() < 8192 {
				w.formula.Write(t)
			}
		case w.inText > 0 && w.skip == 0:
			w.b.text(string(t))
		}
	}
}

func (w *ooxmlWalker) flushInstr() {
	if w.instr.Len() > 0 {
		fieldLinks(w.instr.String(), w.b)
		w.instr.Reset()
	}
}

func (w *ooxmlWalker) finish() { w.flushInstr() }

// relsWalker takes the targets of external relationships: hyperlinks,
// remote templates, linked OLE objects and images.
type relsWalker struct{ b *builder }

func (w *relsWalker) token(tok xml.Token) {
	t, ok := tok.(xml.StartElement)
	if !ok || t.Name.Local != "Relationship" {
		return
	}
	var target, mode, typ string
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "Target":
			target = a.Value
		case "TargetMode":
			mode = a.Value
		case "Type":
			typ = a.Value
		}
	}
	if !strings.EqualFold(mode, "External") || strings.TrimSpace(target) == "" {
		return
	}
	w.b.link(target)
	switch {
	case strings.HasSuffix(typ, "/attachedTemplate"):
		w.b.defect("office: external template %q", target)
	case strings.HasSuffix(typ, "/oleObject"):
		w.b.defect("office: external ole object %q", target)
	case strings.HasSuffix(typ, "/frame"), strings.HasSuffix(typ, "/subDocument"):
		w.b.defect("office: external document %q", target)
	}
}

func (w *relsWalker) finish() {}

// odfWalker takes the text of paragraphs and headings in content.xml and
// the xlink:href targets that carry a scheme or a UNC path.
type odfWalker struct {
	b      *builder
	inPara int
}

func (w *odfWalker) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		for _, a := range t.Attr {
			if a.Name.Local == "href" && (strings.Contains(a.Value, ":") || strings.HasPrefix(a.Value, `\\`)) {
				w.b.link(a.Value)
			}
		}
		switch t.Name.Local {
		case "p", "h":
			w.inPara++
		case "s":
			w.b.words(" ")
		case "tab":
			w.b.tab()
		case "line-break":
			w.b.newline()
		}
	case xml.EndElement:
		switch t.Name.Local {
		case "p", "h":
			w.inPara = max(0, w.inPara-1)
			w.b.newline()
		case "table-cell":
			w.b.tab()
		case "table-row":
			w.b.newline()
		}
	case xml.CharData:
		if w.inPara > 0 {
			w.b.words(string(t))
		}
	}
}

func (w *odfWalker) finish() {}

// collapseSpace turns runs of XML white space into one space.
func collapseSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			if !space {
				sb.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		sb.WriteRune(r)
	}
	return sb.String()
}

// fieldKeywords are the field codes (Word and RTF) whose first argument is a
// URL or a path fetched or opened by the reader.
var fieldKeywords = map[string]bool{
	"HYPERLINK": true, "INCLUDEPICTURE": true, "INCLUDETEXT": true, "IMPORT": true,
}

// fieldLinks reads a field code such as `HYPERLINK "https://x" \o "tip"`
// and records its target. Local anchors (HYPERLINK \l "name") are skipped.
func fieldLinks(instr string, b *builder) {
	args := fieldArgs(instr)
	for i := 0; i < len(args); i++ {
		if !fieldKeywords[strings.ToUpper(args[i])] {
			continue
		}
		for j := i + 1; j < len(args); j++ {
			a := args[j]
			if strings.HasPrefix(a, `\`) && len(a) == 2 {
				if a == `\l` || a == `\L` {
					break
				}
				continue
			}
			b.link(a)
			break
		}
		return
	}
}

// fieldArgs splits a field code into words, honouring double quotes.
func fieldArgs(s string) []string {
	var args []string
	for len(args) < 32 {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				args = append(args, s[1:])
				break
			}
			args = append(args, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t\r\n")
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
	return args
}

// formulaURL finds the literal URL argument of a spreadsheet formula that
// fetches or links.
var formulaURL = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(?:HYPERLINK|WEBSERVICE|IMAGE)\(\s*"([^"]+)"`)
})

// formulaLinks records the literal URLs passed to HYPERLINK, WEBSERVICE and
// IMAGE in a spreadsheet formula.
func formulaLinks(f string, b *builder) {
	for _, m := range formulaURL().FindAllStringSubmatch(f, 16) {
		b.link(m[1])
	}
}
