package retry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// IsTransportError reports a failure of the connection before or while the
// service answered that a new attempt may not meet: a refused, reset,
// aborted or closed connection, an unreachable host, a broken pipe, a
// timeout, a response cut short (EOF, unexpected EOF) or a temporary DNS
// failure. It is false for nil, for
// certificate errors and for a name DNS does not know: retrying cannot fix
// those. Service errors (an HTTP answer with an error code) are the
// caller's to classify.
func IsTransportError(err error) bool {
	if err == nil || IsCertificateError(err) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound && (dnsErr.IsTemporary || dnsErr.IsTimeout)
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	// Any other failure of the socket (host or network unreachable, a
	// connection closed under the request, ...). TLS alerts come as
	// *net.OpError too, with Op "remote error" or "local error", and stay
	// permanent.
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op != "remote error" && opErr.Op != "local error" {
		return true
	}
	// Where the chain carries no typed error: net/http's "server closed idle
	// connection" and "cannot rewind body after connection loss" are
	// unexported sentinels, and some SDK code flattens the
	// socket error into text (credentials-go's metadata-token fetch uses
	// fmt.Errorf("...: %s", err.Error())), so only the message is left.
	msg := err.Error()
	for _, s := range flattened {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// flattened are the messages of transport errors whose type is lost.
var flattened = []string{
	"connection reset by peer",
	"broken pipe",
	"http: server closed idle connection",
	"net/http: cannot rewind body after connection loss",
}

// IsCertificateError reports a failure to verify the server's TLS
// certificate: an unknown authority, a name mismatch, an expired or
// otherwise invalid certificate.
func IsCertificateError(err error) bool {
	var uae x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var certErrPtr *x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	return errors.As(err, &uae) || errors.As(err, &hostErr) || errors.As(err, &certErr) ||
		errors.As(err, &certErrPtr) || errors.As(err, &verifyErr)
}
