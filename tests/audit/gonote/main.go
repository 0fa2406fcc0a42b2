// An independent check of Sunlight's signed notes with Go's golang.org/x/mod/sumdb/note:
// reads a note on stdin, the log's vkey and witness vkeys (cosignature/v1, C2SP tlog-cosignature)
// as arguments, and prints "ok <n cosignatures>" only if the log signature and every witness's
// cosignature verify; exits 1 otherwise.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// cosigV1 verifies C2SP cosignature/v1 (Ed25519, key type 0x04) signatures.
type cosigV1 struct {
	name string
	hash uint32
	key  ed25519.PublicKey
	text []byte // the note text, needed for the timestamped message
	seen *int
}

func (v cosigV1) Name() string    { return v.name }
func (v cosigV1) KeyHash() uint32 { return v.hash }
func (v cosigV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	m := "cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + string(msg)
	if ed25519.Verify(v.key, []byte(m), sig[8:]) {
		*v.seen++
		return true
	}
	return false
}

func parseCosigner(vkey string, seen *int) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("bad vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("not a cosignature/v1 key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	want, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || uint32(want) != id {
		return nil, errors.New("key id does not match")
	}
	return cosigV1{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:]), seen: seen}, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: gonote LOGVKEY [WITNESSVKEY...] < note")
		os.Exit(2)
	}
	msg, _ := io.ReadAll(os.Stdin)
	logV, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fmt.Println("bad log key:", err)
		os.Exit(1)
	}
	seen := 0
	vs := []note.Verifier{logV}
	for _, k := range os.Args[2:] {
		v, err := parseCosigner(k, &seen)
		if err != nil {
			fmt.Println("bad witness key:", err)
			os.Exit(1)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
	if seen != len(os.Args)-2 {
		fmt.Printf("FAILED: %d of %d cosignatures verify\n", seen, len(os.Args)-2)
		os.Exit(1)
	}
	fmt.Printf("ok %d %d\n", len(n.Sigs), seen)
}
