package outlook

import (
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime/quotedprintable"
)

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

func qpReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

func base64String(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
