package attach

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"strings"

	"github.com/glaslos/ssdeep"
	"github.com/glaslos/tlsh"
)

// hashChunk is the size of the pieces fed to the hashes: small enough that
// each piece is still in the CPU cache when the next hash reads it.
const hashChunk = 32 << 10

// hash sets the hashes of f from data, reading data once.
func (w *walker) hash(f *Facts, data []byte) {
	hashInto(f, data, w.opt.Fuzzy, w.opt.Fuzzy)
}

// hashInto sets the cryptographic hashes of f, and the fuzzy ones asked
// for, reading data once.
func hashInto(f *Facts, data []byte, withSSDeep, withTLSH bool) {
	m5, s1, s256, s512 := md5.New(), sha1.New(), sha256.New(), sha512.New()
	ws := []io.Writer{m5, s1, s256, s512}
	var fz hash.Hash
	var tl *tlsh.TLSH
	if withSSDeep {
		fz = ssdeep.New()
		ws = append(ws, fz)
	}
	if withTLSH {
		tl = tlsh.New()
		ws = append(ws, tl)
	}
	mw := io.MultiWriter(ws...)
	for p := data; len(p) > 0; {
		n := min(len(p), hashChunk)
		_, _ = mw.Write(p[:n]) // hash writers never fail
		p = p[n:]
	}
	f.MD5 = hex.EncodeToString(m5.Sum(nil))
	f.SHA1 = hex.EncodeToString(s1.Sum(nil))
	f.SHA256 = hex.EncodeToString(s256.Sum(nil))
	f.SHA512 = hex.EncodeToString(s512.Sum(nil))
	if withSSDeep {
		// ssdeep's Sum appends nothing when the input is too small.
		f.SSDeep = string(fz.Sum(nil))
	}
	if withTLSH {
		f.TLSH = tlshString(tl, len(data))
	}
}

// tlshString returns the digest in the "T1" form, or "" when the input is
// shorter than TLSH's 50-byte minimum or too uniform to hash (the library
// then returns a bare zero code).
func tlshString(t *tlsh.TLSH, n int) string {
	if n < 50 {
		return ""
	}
	const digestLen = 35 // checksum, length, quartiles and a 32-byte code
	b := t.Sum(nil)
	if len(b) != digestLen {
		return ""
	}
	return "T1" + strings.ToUpper(hex.EncodeToString(b))
}

// Sum returns Facts holding only the size and the hashes of data, computed
// as Analyze computes them: MD5, SHA-1, SHA-256 and SHA-512, and the fuzzy
// hashes asked for.
func Sum(data []byte, withSSDeep, withTLSH bool) Facts {
	f := Facts{Size: int64(len(data))}
	hashInto(&f, data, withSSDeep, withTLSH)
	return f
}
