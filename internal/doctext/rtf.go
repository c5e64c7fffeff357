package doctext

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf16"
)

// rtfDest is what the text of the current group is for.
type rtfDest uint8

const (
	destText     rtfDest = iota // visible text
	destSkip                    // ignored: tables, pictures, objects, metadata
	destFonts                   // the font table: charsets of fonts
	destField                   // a field instruction, read for link targets
	destTemplate                // the attached template path
)

// rtfSkipped are the destinations whose content is not text.
var rtfSkipped = map[string]bool{
	"colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"objdata": true, "objclass": true, "objname": true, "objalias": true,
	"objsect": true, "objtime": true, "themedata": true, "colorschememapping": true,
	"datastore": true, "latentstyles": true, "listtable": true,
	"listoverridetable": true, "rsidtbl": true, "generator": true, "xmlnstbl": true,
	"filetbl": true, "revtbl": true, "pgdsctbl": true, "mmathPr": true,
	"wgrffmtfilter": true, "nonshppict": true, "sp": true, "bkmkstart": true,
	"bkmkend": true, "xe": true, "tc": true, "userprops": true, "docvar": true,
	"passwordhash": true, "falt": true, "panose": true, "fname": true,
	"blipuid": true, "datafield": true, "formfield": true, "fldtype": true,
	"atnid": true, "atnauthor": true, "atndate": true,
	"defchp": true, "defpap": true, "protusertbl": true, "mhtmltag": true,
	"ftnsep": true, "ftnsepc": true, "aftnsep": true, "aftnsepc": true,
}

// rtfWords are control words that stand for text.
var rtfWords = map[string]string{
	"emdash": "\u2014", "endash": "\u2013", "emspace": " ", "enspace": " ",
	"qmspace": " ", "bullet": "\u2022", "lquote": "\u2018", "rquote": "\u2019",
	"ldblquote": "\u201C", "rdblquote": "\u201D", "~": " ", "_": "-",
}

const (
	maxRTFDepth = 512  // nesting kept; deeper groups are skipped
	maxCapture  = 8192 // bytes kept of one field instruction
)

// rtfGroup is the state saved and restored by braces.
type rtfGroup struct {
	dest rtfDest
	uc   int // fallback characters after \uN
	cp   int // code page of the current font; 0 is the ANSI code page
	font int // in the font table: the font being described
}

type rtfParser struct {
	ctx  context.Context
	data []byte
	pos  int
	b    *builder

	st       rtfGroup
	stack    []rtfGroup
	overflow int // groups opened beyond maxRTFDepth

	ansiCP  int
	defFont int
	fonts   map[int]int // font number to code page

	starred   bool // \* seen: an unknown destination follows
	skipChars int  // fallback characters left to skip after \uN
	highSurr  rune // pending high surrogate of a \uN pair

	pending   []byte // text bytes waiting for code page decoding
	pendingCP int

	capture      strings.Builder
	captureDepth int // depth of the group being captured, 0 for none
	captureDest  rtfDest
}

// readRTF extracts the text of an RTF document and the targets of its
// HYPERLINK, INCLUDEPICTURE and INCLUDETEXT fields and remote template.
func readRTF(ctx context.Context, data []byte, b *builder) error {
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(`{\rtf`)) {
		b.defect("rtf: no {\\rtf header")
	}
	p := &rtfParser{
		ctx: ctx, data: data, b: b,
		st:     rtfGroup{uc: 1},
		ansiCP: 1252,
		fonts:  make(map[int]int),
	}
	return p.run()
}

func (p *rtfParser) depth() int { return len(p.stack) }

func (p *rtfParser) run() error {
	next := 64 << 10
	for p.pos < len(p.data) {
		if p.pos >= next {
			next = p.pos + 64<<10
			if err := p.ctx.Err(); err != nil {
				return fmt.Errorf("doctext: rtf: %w", err)
			}
		}
		c := p.data[p.pos]
		switch c {
		case '{':
			p.pos++
			p.open()
		case '}':
			p.pos++
			p.close()
		case '\\':
			p.pos++
			p.control()
		default:
			p.pos++
			if p.overflow > 0 {
				continue
			}
			switch c {
			case '\r', '\n':
			case '\t':
				p.flush()
				p.tab()
			default:
				if c >= 0x20 {
					p.char(c)
				}
			}
		}
	}
	p.flush()
	if p.depth() > 0 || p.overflow > 0 {
		p.b.defect("rtf: %d groups not closed", p.depth()+p.overflow)
	}
	return nil
}

func (p *rtfParser) open() {
	p.flush()
	p.loneSurrogate()
	p.skipChars = 0
	if p.overflow > 0 || p.depth() >= maxRTFDepth {
		if p.overflow == 0 {
			p.b.defect("rtf: groups nested deeper than %d", maxRTFDepth)
		}
		p.overflow++
		return
	}
	p.stack = append(p.stack, p.st)
	p.starred = false
}

func (p *rtfParser) close() {
	p.flush()
	p.loneSurrogate()
	p.skipChars = 0
	if p.overflow > 0 {
		p.overflow--
		return
	}
	if p.depth() == 0 {
		p.b.defect("rtf: unbalanced }")
		return
	}
	if p.captureDepth == p.depth() {
		s := p.capture.String()
		switch p.captureDest {
		case destField:
			fieldLinks(s, p.b)
		case destTemplate:
			p.b.link(s)
			p.b.defect("rtf: attached template %q", strings.TrimSpace(s))
		}
		p.capture.Reset()
		p.captureDepth = 0
	}
	p.st = p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	p.starred = false
}

// control reads what follows a backslash.
func (p *rtfParser) control() {
	if p.pos >= len(p.data) {
		return
	}
	c := p.data[p.pos]
	if !isLetter(c) {
		p.pos++
		p.symbol(c)
		return
	}
	start := p.pos
	for p.pos < len(p.data) && isLetter(p.data[p.pos]) && p.pos-start < 32 {
		p.pos++
	}
	word := string(p.data[start:p.pos])
	param, hasParam := 0, false
	neg := false
	if p.pos < len(p.data) && p.data[p.pos] == '-' && p.pos+1 < len(p.data) && isDigit(p.data[p.pos+1]) {
		neg = true
		p.pos++
	}
	for digits := 0; p.pos < len(p.data) && isDigit(p.data[p.pos]); digits++ {
		if digits < 10 {
			param = param*10 + int(p.data[p.pos]-'0')
		}
		hasParam = true
		p.pos++
	}
	if neg {
		param = -param
	}
	if p.pos < len(p.data) && p.data[p.pos] == ' ' {
		p.pos++
	}
	if p.overflow > 0 {
		if word == "bin" && hasParam {
			p.skipBinary(param)
		}
		return
	}
	p.word(word, param, hasParam)
}

func (p *rtfParser) symbol(c byte) {
	if p.overflow > 0 {
		if c == '\'' {
			p.pos = min(p.pos+2, len(p.data))
		}
		return
	}
	switch c {
	case '\'':
		if p.pos+2 > len(p.data) {
			p.pos = len(p.data)
			return
		}
		h, ok := unhex(p.data[p.pos], p.data[p.pos+1])
		p.pos += 2
		if ok {
			p.char(h)
		}
	case '*':
		p.starred = true
	case '\\', '{', '}':
		p.char(c)
	case '\r', '\n':
		p.flush()
		if !p.skipping() {
			p.paragraph()
		}
	case '\t':
		p.flush()
		if !p.skipping() {
			p.tab()
		}
	case '~', '_':
		p.flush()
		if !p.skipping() {
			p.out(rtfWords[string(c)])
		}
	}
	// Other symbols (\- optional hyphen, \: index, \| formula) add nothing.
}

// skipping consumes one fallback character of a \uN escape if one is due.
func (p *rtfParser) skipping() bool {
	if p.skipChars > 0 {
		p.skipChars--
		return true
	}
	return false
}

func (p *rtfParser) word(word string, param int, hasParam bool) {
	starred := p.starred
	p.starred = false
	if word == "bin" {
		p.flush()
		if hasParam {
			p.skipBinary(param)
		}
		return
	}

	// Destinations change the state of the group they open; outside any
	// group they are garbage and ignored, lest they swallow the document.
	isDest := word == "fonttbl" || word == "fldinst" || word == "template" ||
		word == "fldrslt" || rtfSkipped[word] || starred
	if isDest && p.depth() == 0 {
		return
	}
	switch {
	case word == "fonttbl":
		p.flush()
		p.st.dest = destFonts
		return
	case word == "fldinst" || word == "template":
		p.flush()
		if p.st.dest == destSkip {
			return
		}
		if p.captureDepth == 0 {
			p.captureDepth = p.depth()
			p.captureDest = destField
			if word == "template" {
				p.captureDest = destTemplate
			}
			p.capture.Reset()
		}
		p.st.dest = destField
		return
	case word == "fldrslt":
		p.flush()
		if p.st.dest != destSkip && p.st.dest != destFonts {
			p.st.dest = destText
		}
		return
	case rtfSkipped[word] || starred:
		p.flush()
		p.st.dest = destSkip
		return
	}

	switch p.st.dest {
	case destSkip:
		return
	case destFonts:
		switch word {
		case "f":
			p.st.font = param
		case "fcharset":
			if cp, ok := rtfCharsets[param]; ok {
				p.fonts[p.st.font] = cp
			}
		case "cpg":
			p.fonts[p.st.font] = param
		}
		return
	}

	switch word {
	case "u":
		p.flush()
		if p.skipping() {
			return
		}
		p.unicode(param)
		p.skipChars = p.st.uc
		return
	case "uc":
		p.st.uc = min(max(param, 0), 16)
		return
	case "ansicpg":
		if param > 0 {
			p.flush()
			p.ansiCP = param
		}
		return
	case "ansi":
		return
	case "mac":
		p.ansiCP = 10000
		return
	case "pc":
		p.ansiCP = 437
		return
	case "pca":
		p.ansiCP = 850
		return
	case "deff":
		p.defFont = param
		return
	case "f":
		p.flush()
		p.st.cp = p.fonts[param]
		return
	case "plain":
		p.flush()
		p.st.cp = p.fonts[p.defFont]
		return
	}

	if p.skipping() {
		return
	}
	switch word {
	case "par", "line", "sect", "page", "row", "lbr":
		p.flush()
		p.paragraph()
	case "tab", "cell", "nestcell":
		p.flush()
		p.tab()
	default:
		if s, ok := rtfWords[word]; ok {
			p.flush()
			p.out(s)
		}
	}
}

func (p *rtfParser) skipBinary(n int) {
	if n < 0 {
		return
	}
	p.pos = min(p.pos+n, len(p.data))
}

// char takes one byte of text, raw or from \'hh.
func (p *rtfParser) char(c byte) {
	if p.st.dest == destSkip || p.st.dest == destFonts {
		return
	}
	if p.skipping() {
		return
	}
	p.loneSurrogate()
	cp := p.st.cp
	if cp == 0 {
		cp = p.ansiCP
	}
	if len(p.pending) > 0 && cp != p.pendingCP {
		p.flush()
	}
	p.pendingCP = cp
	if len(p.pending) < 4096 {
		p.pending = append(p.pending, c)
	} else {
		p.flush()
		p.pending = append(p.pending, c)
	}
}

// flush decodes the pending text bytes.
func (p *rtfParser) flush() {
	if len(p.pending) == 0 {
		return
	}
	s := decodeCodePage(p.pendingCP, p.pending)
	p.pending = p.pending[:0]
	p.out(s)
}

func (p *rtfParser) unicode(n int) {
	if n < 0 {
		n += 65536
	}
	r := rune(n)
	switch {
	case r >= 0xD800 && r < 0xDC00:
		p.loneSurrogate()
		p.highSurr = r
		return
	case r >= 0xDC00 && r < 0xE000 && p.highSurr != 0:
		r = utf16.DecodeRune(p.highSurr, r)
		p.highSurr = 0
	case r == 0:
		return
	}
	p.loneSurrogate()
	p.out(string(r))
}

// loneSurrogate replaces a high surrogate not followed by a low one.
func (p *rtfParser) loneSurrogate() {
	if p.highSurr != 0 {
		p.highSurr = 0
		p.out("\uFFFD")
	}
}

// out sends decoded text where the group wants it.
func (p *rtfParser) out(s string) {
	switch p.st.dest {
	case destText:
		p.b.words(s)
	case destField, destTemplate:
		if p.captureDepth > 0 && p.capture.Len() < maxCapture {
			p.capture.WriteString(s)
		}
	}
}

func (p *rtfParser) paragraph() {
	if p.st.dest == destText {
		p.b.newline()
	}
}

func (p *rtfParser) tab() {
	if p.st.dest == destText {
		p.b.tab()
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func unhex(a, b byte) (byte, bool) {
	x, ok1 := hexVal(a)
	y, ok2 := hexVal(b)
	return x<<4 | y, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
