package outlook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"
	"golang.org/x/text/encoding/htmlindex"
)

// Property types (MS-OXCDATA 2.11.1).
const (
	typeInt32   = 0x0003
	typeBool    = 0x000B
	typeObject  = 0x000D
	typeString8 = 0x001E
	typeUnicode = 0x001F
	typeTime    = 0x0040
	typeBinary  = 0x0102
)

// Property identifiers used here (MS-OXPROPS).
const (
	pidSubject               = 0x0037
	pidClientSubmitTime      = 0x0039
	pidSentReprName          = 0x0042
	pidSentReprEmail         = 0x0065
	pidTransportHeaders      = 0x007D
	pidMessageClass          = 0x001A
	pidSenderName            = 0x0C1A
	pidSenderEmail           = 0x0C1F
	pidRecipientType         = 0x0C15
	pidDisplayBcc            = 0x0E02
	pidDisplayCc             = 0x0E03
	pidDisplayTo             = 0x0E04
	pidDeliveryTime          = 0x0E06
	pidBody                  = 0x1000
	pidRTFCompressed         = 0x1009
	pidHTML                  = 0x1013
	pidInternetMessageID     = 0x1035
	pidReferences            = 0x1039
	pidInReplyTo             = 0x1042
	pidDisplayName           = 0x3001
	pidEmailAddress          = 0x3003
	pidCreationTime          = 0x3007
	pidAttachData            = 0x3701
	pidAttachExtension       = 0x3703
	pidAttachFilename        = 0x3704
	pidAttachMethod          = 0x3705
	pidAttachLongFilename    = 0x3707
	pidAttachLongPathname    = 0x3708
	pidAttachPathname        = 0x370D
	pidAttachMimeTag         = 0x370E
	pidAttachContentID       = 0x3712
	pidSMTPAddress           = 0x39FE
	pidInternetCodepage      = 0x3FDE
	pidMessageCodepage       = 0x3FFD
	pidSenderSMTPAddress     = 0x5D01
	pidSentReprSMTPAddress   = 0x5D02
	propertiesStream         = "__properties_version1.0"
	substgPrefix             = "__substg1.0_"
	attachPrefix             = "__attach_version1.0_#"
	recipPrefix              = "__recip_version1.0_#"
	embeddedMessageStorage   = substgPrefix + "3701000D"
	fixedHeaderTopLevel      = 32
	fixedHeaderEmbedded      = 24
	fixedHeaderAttachOrRecip = 8
)

// node is a storage of the compound file: its streams and sub-storages.
type node struct {
	name     string
	streams  map[string]*mscfb.File
	children map[string]*node
}

func newNode(name string) *node {
	return &node{name: name, streams: make(map[string]*mscfb.File), children: make(map[string]*node)}
}

// child returns the named sub-storage, creating it.
func (n *node) child(name string) *node {
	c := n.children[name]
	if c == nil {
		c = newNode(name)
		n.children[name] = c
	}
	return c
}

// childrenWithPrefix lists sub-storages whose name starts with prefix, in
// name order (the #XXXXXXXX suffix numbers them).
func (n *node) childrenWithPrefix(prefix string) []*node {
	var out []*node
	for name, c := range n.children {
		if strings.HasPrefix(name, prefix) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// buildTree arranges the directory entries of the compound file by path.
func buildTree(r *mscfb.Reader) *node {
	root := newNode("")
	for i, f := range r.File {
		if i == 0 {
			continue // the root entry itself
		}
		n := root
		for _, p := range f.Path {
			n = n.child(p)
		}
		if f.FileInfo().IsDir() {
			n.child(f.Name)
		} else {
			n.streams[f.Name] = f
		}
	}
	return root
}

// reader reads streams within a byte budget and remembers what it read:
// mscfb streams are read once, and a damaged sector chain must not make
// the reader produce more than the file could hold.
type reader struct {
	budget int64
	cache  map[*mscfb.File][]byte
}

var errBudget = errors.New("outlook: size limit reached")

func (r *reader) read(f *mscfb.File) ([]byte, error) {
	if b, ok := r.cache[f]; ok {
		return b, nil
	}
	n := f.Size
	if n <= 0 {
		return nil, nil
	}
	if n > r.budget {
		return nil, errBudget
	}
	r.budget -= n
	buf := make([]byte, n)
	got, err := io.ReadFull(f, buf)
	buf = buf[:got]
	r.cache[f] = buf
	if err != nil {
		return buf, fmt.Errorf("outlook: read %s: %w", f.Name, err)
	}
	return buf, nil
}

// object is a MAPI object (message, attachment or recipient) stored in a
// storage: its variable-size properties are streams, its fixed-size ones
// sit in the properties stream.
type object struct {
	n        *node
	r        *reader
	fixed    map[uint32][8]byte
	codepage int
	defects  *[]string
}

func (o *object) defect(format string, args ...any) {
	if len(*o.defects) < 100 {
		*o.defects = append(*o.defects, fmt.Sprintf(format, args...))
	}
}

// loadObject reads the fixed properties of n; header is the size of the
// properties stream header, which depends on the kind of object.
func loadObject(n *node, r *reader, header int, defects *[]string, codepage int) *object {
	o := &object{n: n, r: r, fixed: make(map[uint32][8]byte), codepage: codepage, defects: defects}
	f := n.streams[propertiesStream]
	if f == nil {
		o.defect("outlook: %s: no properties stream", nameOr(n.name, "message"))
		return o
	}
	data, err := r.read(f)
	if err != nil {
		o.defect("%v", err)
	}
	if len(data) < header {
		o.defect("outlook: %s: short properties stream", nameOr(n.name, "message"))
		return o
	}
	for p := data[header:]; len(p) >= 16; p = p[16:] {
		tag := binary.LittleEndian.Uint32(p)
		var v [8]byte
		copy(v[:], p[8:16])
		o.fixed[tag] = v
	}
	if cp, ok := o.int32(pidMessageCodepage); ok && cp > 0 {
		o.codepage = int(cp)
	} else if cp, ok := o.int32(pidInternetCodepage); ok && cp > 0 && o.codepage == 0 {
		o.codepage = int(cp)
	}
	return o
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (o *object) stream(id, typ uint16) ([]byte, bool) {
	f := o.n.streams[fmt.Sprintf("%s%04X%04X", substgPrefix, id, typ)]
	if f == nil {
		return nil, false
	}
	b, err := o.r.read(f)
	if err != nil {
		o.defect("%v", err)
	}
	return b, b != nil
}

// str returns a string property, Unicode or 8-bit, without its terminator.
func (o *object) str(id uint16) string {
	if b, ok := o.stream(id, typeUnicode); ok {
		return decodeUTF16(b)
	}
	if b, ok := o.stream(id, typeString8); ok {
		return decodeCodepage(o.codepage, bytes.TrimRight(b, "\x00"))
	}
	return ""
}

func (o *object) bin(id uint16) []byte {
	b, _ := o.stream(id, typeBinary)
	return b
}

func (o *object) int32(id uint16) (int32, bool) {
	v, ok := o.fixed[uint32(id)<<16|typeInt32]
	if !ok {
		return 0, false
	}
	return int32(binary.LittleEndian.Uint32(v[:4])), true
}

// time returns a PtypTime property (a FILETIME: 100 ns since 1601).
func (o *object) time(id uint16) (time.Time, bool) {
	v, ok := o.fixed[uint32(id)<<16|typeTime]
	if !ok {
		return time.Time{}, false
	}
	ft := binary.LittleEndian.Uint64(v[:])
	if ft == 0 {
		return time.Time{}, false
	}
	const epochDelta = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDelta || ft > epochDelta+(1<<62)/100 {
		return time.Time{}, false
	}
	d := ft - epochDelta
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC(), true
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, binary.LittleEndian.Uint16(b[i:]))
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// codepageNames maps Windows code pages to the charset names of MIME.
var codepageNames = map[int]string{
	437: "ibm437", 850: "ibm850", 852: "ibm852", 866: "ibm866", 874: "windows-874",
	932: "shift_jis", 936: "gbk", 949: "euc-kr", 950: "big5",
	1250: "windows-1250", 1251: "windows-1251", 1252: "windows-1252",
	1253: "windows-1253", 1254: "windows-1254", 1255: "windows-1255",
	1256: "windows-1256", 1257: "windows-1257", 1258: "windows-1258",
	10000: "macintosh", 20127: "us-ascii", 20866: "koi8-r", 21866: "koi8-u",
	28591: "iso-8859-1", 28592: "iso-8859-2", 28593: "iso-8859-3", 28594: "iso-8859-4",
	28595: "iso-8859-5", 28596: "iso-8859-6", 28597: "iso-8859-7", 28598: "iso-8859-8",
	28599: "iso-8859-9", 28603: "iso-8859-13", 28605: "iso-8859-15",
	50220: "iso-2022-jp", 50221: "iso-2022-jp", 50222: "iso-2022-jp",
	51932: "euc-jp", 51949: "euc-kr", 54936: "gb18030", 65001: "utf-8",
}

// decodeCodepage decodes 8-bit text to UTF-8; unknown code pages are read
// as Windows-1252.
func decodeCodepage(cp int, b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 || c == 0x1B {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	name := codepageNames[cp]
	if name == "" {
		name = "windows-1252"
	}
	enc, err := htmlindex.Get(name)
	if err != nil {
		enc, _ = htmlindex.Get("windows-1252")
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}
