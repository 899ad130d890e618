// Package emu holds what the emulators share that is not protocol: random
// IDs in the services' formats, STS-style credentials, and dropping a
// connection for the Reset fault.
package emu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
)

// Alnum is the alphabet of access key IDs, secrets and tokens.
const Alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Random returns n characters drawn from alphabet.
func Random(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Hex returns n random bytes in upper-case hex (OSS request and upload IDs).
func Hex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// RequestID returns a RequestId as the RPC-style services (ECS, STS) send
// it: an upper-case UUID.
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// STSCredential returns a fresh temporary credential shaped like the ones STS
// and the instance metadata service hand out.
func STSCredential(expiration time.Time) auth.Credential {
	return auth.Credential{
		AccessKeyID:     "STS." + Random(12, Alnum),
		AccessKeySecret: Random(20, Alnum),
		SecurityToken:   "CAIS" + Random(40, Alnum),
		Expiration:      expiration,
	}
}

// DropConnection closes the request's connection without a response. With
// abortive set the close sends an RST (linger 0), as a crashed front end or a
// broken network path looks to a client; otherwise a plain close. It reports
// false when w cannot be hijacked.
func DropConnection(w http.ResponseWriter, abortive bool) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	if tc, ok := conn.(*net.TCPConn); ok && abortive {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return true
}
