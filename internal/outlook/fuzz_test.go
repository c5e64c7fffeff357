package outlook

import (
	"bytes"
	"net/mail"
	"testing"
)

func FuzzToMIME(f *testing.F) {
	f.Add(sampleMsg())
	f.Add(buildCFB(props(fixedHeaderTopLevel), uni(pidSubject, "s"),
		bin(pidRTFCompressed, mustHex("2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c09002062770"+
			"5b06c647d0a800fa0"))))
	f.Add(buildCFB(stream("WordDocument", []byte("x"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := ToMIME(data)
		if err != nil {
			return
		}
		if len(out) > 4*len(data)+(4<<20) {
			t.Fatalf("%d bytes out of %d", len(out), len(data))
		}
		if _, err := mail.ReadMessage(bytes.NewReader(out)); err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
	})
}
