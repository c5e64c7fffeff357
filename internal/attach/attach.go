package attach

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Defect names. They are stable identifiers: reports and filters key on them.
const (
	DefectDepthLimit   = "archive-depth-limit"   // an archive nested deeper than Limits.MaxDepth: not opened
	DefectMemberLimit  = "archive-member-limit"  // the tree has more than Limits.MaxMembers members: the listing stops
	DefectSizeLimit    = "archive-size-limit"    // a member above Limits.MaxMemberBytes, past Limits.MaxTotalBytes or needing too big a decoder: listed, not read
	DefectRatioLimit   = "archive-ratio-limit"   // a member compressed better than Limits.MaxRatio: listed, not read
	DefectCorrupt      = "archive-corrupt"       // an archive or member that could not be read (truncated, bad checksum, unsupported method, reader panic)
	DefectEncrypted    = "archive-encrypted"     // encrypted content that none of Options.Passwords opened
	DefectInsecurePath = "archive-insecure-path" // a member name that is absolute or climbs out with ".."
	DefectTextError    = "text-error"            // the Options.Text hook failed or panicked
	DefectCanceled     = "canceled"              // the context ended before the walk finished
	DefectPanic        = "analysis-panic"        // a panic outside the archive readers; the facts are incomplete
)

// Defect is one thing found wrong with a file or archive.
type Defect struct {
	Name   string `json:"name"`
	Detail string `json:"detail,omitempty"`
}

func (d Defect) String() string {
	if d.Detail == "" {
		return d.Name
	}
	return d.Name + ": " + d.Detail
}

// Limits bound the work done for one attachment and everything inside it.
// A zero field takes its default.
type Limits struct {
	// MaxDepth is how deep archives are opened: the attachment is at
	// depth 0 and its members at depth 1. An archive at MaxDepth is listed
	// as a file but not opened. Default 4.
	MaxDepth int
	// MaxMembers is the number of members listed in the whole tree.
	// Default 1000.
	MaxMembers int
	// MaxTotalBytes is the number of bytes expanded for the whole tree;
	// members past it are listed but not read. Default 64 MiB.
	MaxTotalBytes int64
	// MaxMemberBytes is the size of the largest member read. Default 32 MiB.
	MaxMemberBytes int64
	// MaxRatio is the compression ratio (expanded / compressed bytes) above
	// which a member is not expanded. It applies to members that expand to
	// more than 64 KiB, both to the sizes an archive declares and to the
	// bytes actually produced. Default 100.
	MaxRatio float64
}

// Default limits. With them one Analyze holds about the input plus 64 MiB
// of expanded data and the decoders' dictionaries (at most 64 MiB each).
const (
	DefaultMaxDepth       = 4
	DefaultMaxMembers     = 1000
	DefaultMaxTotalBytes  = 64 << 20
	DefaultMaxMemberBytes = 32 << 20
	DefaultMaxRatio       = 100
	DefaultTextBytes      = 64 << 10
)

// ratioFloor is the expanded size below which the ratio limit does not
// apply: a few kilobytes of zeros compress a thousandfold and harm nobody.
const ratioFloor = 64 << 10

// maxDecoderMemory caps what a decoder may reserve up front for its
// dictionary or model (rar, xz, 7z LZMA/LZMA2/PPMd). The common tools stay
// below it: 7-Zip -mx9 and xz -9 use 64 MiB, RAR 5 uses 32 MiB.
const maxDecoderMemory = 64 << 20

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if l.MaxMemberBytes <= 0 {
		l.MaxMemberBytes = DefaultMaxMemberBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// Options control Analyze. The zero value computes the cryptographic
// hashes, sniffs types and opens archives within the default limits.
type Options struct {
	Limits Limits
	// Fuzzy adds the ssdeep and TLSH hashes, which cost more than the
	// other four together.
	Fuzzy bool
	// Passwords are tried, in order, on encrypted zip, rar and 7z content
	// (mail-borne malware commonly uses "infected" or a word from the body).
	// A rar or 7z archive is listed again for each password tried, each
	// time within the limits.
	Passwords []string
	// Text, when set, is called for each file whose sniffed type is a
	// document (see IsDocument) with that type and the file's bytes. It
	// runs on the calling goroutine and should honour ctx. A panic in it
	// is recovered and recorded as DefectTextError.
	Text func(ctx context.Context, mime string, data []byte) (string, error)
	// Stop, when set, is called for every file (the attachment at depth 0,
	// members below) once its size, hashes and sniffed type are known.
	// Returning true leaves the file at that: no text, no members. It runs
	// on the calling goroutine.
	Stop func(f *Facts, depth int) bool
	// TextBytes caps the text stored per file, cut at a UTF-8 boundary.
	// Default 64 KiB.
	TextBytes int
}

// Facts is what is known about one file: an attachment, or a member of an
// archive (in Members of its archive).
type Facts struct {
	// Path is "" for the attachment itself and the member's path below
	// it for archive members: "invoice.zip/docs/invoice.pdf.exe".
	Path string `json:"path,omitempty"`
	// Filename is the base name: the attachment's file name, or the last
	// element of the member's name inside its archive.
	Filename string `json:"filename,omitempty"`
	// Extension is the last extension of Filename, lower-case, without the
	// dot; DoubleExtension and Executable are as RiskyName reports them.
	Extension       string `json:"extension,omitempty"`
	DoubleExtension bool   `json:"double_extension,omitempty"`
	Executable      bool   `json:"executable,omitempty"`
	// DeclaredType is the Content-Type the mail gave the attachment
	// (empty for members); SniffedType is found from the bytes.
	DeclaredType string `json:"declared_type,omitempty"`
	SniffedType  string `json:"sniffed_type,omitempty"`
	// TypeMismatch is set when the sniffed type contradicts the extension
	// in a risky way: a program or shortcut under another extension, or an
	// active or container format behind a document or image extension.
	TypeMismatch bool `json:"type_mismatch,omitempty"`
	// Size is the number of bytes read, or the size the archive declares
	// for a member that was not read.
	Size int64 `json:"size"`
	// Hashes in lower-case hex, empty when the content was not read. SSDeep
	// is empty for 4096 bytes or less (unless ssdeep.Force is set), TLSH for
	// inputs too short or too uniform; TLSH is in the "T1" upper-case form
	// that VirusTotal and MalwareBazaar use.
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	SHA512 string `json:"sha512,omitempty"`
	SSDeep string `json:"ssdeep,omitempty"`
	TLSH   string `json:"tlsh,omitempty"`
	// IsArchive is set when the sniffed type is an archive this package
	// opens, whether or not it could be opened.
	IsArchive bool `json:"is_archive,omitempty"`
	// Encrypted is set for an encrypted member and for an archive holding
	// encrypted content. Password is the entry of Options.Passwords that
	// opened it, if any did.
	Encrypted bool    `json:"encrypted,omitempty"`
	Password  string  `json:"password,omitempty"`
	Members   []Facts `json:"members,omitempty"`
	// Text is what Options.Text returned, capped at Options.TextBytes.
	Text          string   `json:"text,omitempty"`
	TextTruncated bool     `json:"text_truncated,omitempty"`
	Defects       []Defect `json:"defects,omitempty"`
}

// HasDefect reports whether f itself (not its members) has a defect named
// name.
func (f *Facts) HasDefect(name string) bool {
	for _, d := range f.Defects {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Walk calls fn for f and then for each member, depth first, in archive
// order.
func (f *Facts) Walk(fn func(*Facts)) {
	fn(f)
	for i := range f.Members {
		f.Members[i].Walk(fn)
	}
}

func (f *Facts) addDefect(name, detail string) {
	detail = clip(detail, 200)
	for _, d := range f.Defects {
		if d.Name == name && d.Detail == detail {
			return
		}
	}
	f.Defects = append(f.Defects, Defect{Name: name, Detail: detail})
}

// Analyze computes the facts of one attachment: name is its file name,
// declared its Content-Type as the mail states it (both may be empty), and
// data its decoded bytes, which Analyze does not modify or keep. It never
// fails: problems are recorded as Defects, and when ctx ends the walk stops
// with DefectCanceled.
func Analyze(ctx context.Context, name, declared string, data []byte, opt Options) (f Facts) {
	w := &walker{ctx: ctx, lim: opt.Limits.withDefaults(), opt: opt}
	if w.opt.TextBytes <= 0 {
		w.opt.TextBytes = DefaultTextBytes
	}
	f = named("", name)
	f.DeclaredType = declared
	defer func() {
		if r := recover(); r != nil {
			f.addDefect(DefectPanic, fmt.Sprint(r))
		}
	}()
	w.file(&f, data, 0)
	return f
}

// named returns the facts that follow from a name alone.
func named(path, name string) Facts {
	f := Facts{Path: path, Filename: baseName(name)}
	f.Extension, f.DoubleExtension, f.Executable = RiskyName(f.Filename)
	return f
}

// baseName is the last element of a path written with either separator.
func baseName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.TrimRight(name, `/\`)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
