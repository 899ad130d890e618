package oss

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The S3 protocol on the OSS endpoints: AWS Signature Version 4 over the same
// AccessKey pairs ("Use Amazon S3 SDKs to access OSS"; the signing rules are
// the AWS S3 API reference's "Authenticating Requests (AWS Signature Version
// 4)", "Signature Calculations for the Authorization Header: Transferring
// Payload in Multiple Chunks" and "Authenticating Requests: Using Query
// Parameters").
const (
	s3Algorithm        = "AWS4-HMAC-SHA256"
	s3ChunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	s3StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	emptySHA256        = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// maxS3SmallBody bounds the bodies that are read whole before the
	// operation (DeleteObjects, CompleteMultipartUpload, CreateBucket).
	maxS3SmallBody = 4 << 20
)

// isS3Request reports a request signed with AWS Signature V4, header or
// presigned URL: OSS serves those as the S3 protocol.
func isS3Request(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), s3Algorithm+" ") || r.URL.Query().Has("X-Amz-Algorithm")
}

// S3 errors that OSS answers with the S3 code (the AWS S3 error reference).
var (
	errS3ContentSHA256Mismatch = newErr(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	errS3MissingSHA256         = newErr(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	// OSS error-center page 0017-00000804: aws-chunked bodies are accepted
	// only with x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
	errS3ChunkedUnsupported = newErr(400, "InvalidArgument", "aws-chunked encoding is not supported with the specified x-amz-content-sha256 value.").
				with("ArgumentName", "Content-Encoding").with("ArgumentValue", "aws-chunked").with("EC", "0017-00000804")
)

// s3ChecksumHeaders carry a checksum of the body (the AWS S3 user guide,
// "Checking object integrity").
var s3ChecksumHeaders = []string{"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-crc64nvme"}

func s3AuthMalformed(msg string) *apiError {
	return newErr(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; "+msg)
}

func s3QueryError(msg string) *apiError {
	return newErr(400, "AuthorizationQueryParametersError", msg)
}

// s3V4 is SigV4 as OSS's S3-compatible API checks it (see v4Scheme).
var s3V4 = v4Scheme{
	service: "s3", terminator: "aws4_request",
	badScope: func(cred string) *apiError {
		return s3AuthMalformed("the Credential must be AccessKeyId/yyyymmdd/region/s3/aws4_request.").with("AWSAccessKeyId", redactID(cred))
	},
	badDay: func(day string) *apiError {
		return s3AuthMalformed("the Credential date " + day + " is not the date of the request.")
	},
	badDate: func(date string) *apiError {
		return s3QueryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".").with("ArgumentValue", date)
	},
	badExpires: func(expires string) *apiError {
		return s3QueryError("X-Amz-Expires must be a number of seconds between 1 and 604800 (a week).").with("ArgumentValue", expires)
	},
	expired: func(expires int64, until, now time.Time) *apiError {
		return errRequestExpired.with("X-Amz-Expires", strconv.FormatInt(expires, 10)).
			with("Expires", until.UTC().Format(time.RFC3339)).with("ServerTime", now.UTC().Format(time.RFC3339))
	},
}

// s3Auth is what a verified SigV4 request was signed with; the chunks of a
// streaming upload are signed with the same key and scope.
type s3Auth struct {
	key               []byte
	date, scope, seed string
}

// verifyS3 checks an "AWS4-HMAC-SHA256 Credential=…" header or a SigV4
// presigned URL, then puts a verifying reader in front of the body: per-chunk
// signatures for aws-chunked uploads, the declared SHA-256 for signed
// payloads, and any x-amz-checksum-* header.
func (s *Server) verifyS3(r *http.Request) *apiError {
	now := s.now()
	q := r.URL.Query()
	presigned := !strings.HasPrefix(r.Header.Get("Authorization"), s3Algorithm+" ")
	var credStr, signedList, sig, amzDate, token, payload string
	var signTime time.Time
	if presigned {
		if alg := q.Get("X-Amz-Algorithm"); alg != s3Algorithm {
			return s3QueryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".").with("ArgumentValue", alg)
		}
		credStr, signedList, sig = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")
		amzDate, token, payload = q.Get("X-Amz-Date"), q.Get("X-Amz-Security-Token"), unsignedPayload
		var e *apiError
		if signTime, e = s3V4.presignedTime(amzDate, q.Get("X-Amz-Expires"), now); e != nil {
			return e
		}
	} else {
		fields := authFields(r, s3Algorithm)
		credStr, signedList, sig = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
		if credStr == "" || signedList == "" || sig == "" {
			return s3AuthMalformed("it needs Credential, SignedHeaders and Signature.")
		}
		token = r.Header.Get("x-amz-security-token")
		if payload = r.Header.Get("x-amz-content-sha256"); payload == "" {
			return errS3MissingSHA256
		}
		var err error
		if amzDate = r.Header.Get("x-amz-date"); amzDate != "" {
			signTime, err = time.Parse(v4DateFormat, amzDate)
		} else if signTime, err = http.ParseTime(r.Header.Get("Date")); err == nil {
			amzDate = signTime.UTC().Format(v4DateFormat)
		}
		if err != nil {
			return newErr(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
		}
	}
	c, id, day, region, aerr := s.v4Scope(s3V4, credStr, token, signTime, now, presigned)
	if aerr != nil {
		return aerr
	}
	signed := strings.Split(signedList, ";")
	if !sort.StringsAreSorted(signed) || !containsString(signed, "host") {
		return s3AuthMalformed("SignedHeaders must be sorted, lower case, and include host.")
	}
	canon := s3CanonicalRequest(r, q, signed, payload, presigned)
	sum := sha256.Sum256([]byte(canon))
	credScope := day + "/" + region + "/s3/aws4_request"
	sts := s3Algorithm + "\n" + amzDate + "\n" + credScope + "\n" + hex.EncodeToString(sum[:])
	key := v4SigningKey("AWS4", c.AccessKeySecret, day, region, "s3", "aws4_request")
	if want := hex.EncodeToString(hmacSHA256(key, sts)); !hmac.Equal([]byte(want), []byte(sig)) {
		return errSignatureMismatch.with("AWSAccessKeyId", id).with("StringToSign", sts).
			with("SignatureProvided", sig).with("CanonicalRequest", canon)
	}
	mode := payload
	if presigned {
		mode = "presigned"
	} else if isSHA256Hex(payload) {
		mode = "sha256"
	}
	s.countS3Payload(mode)
	return s3Body(r, payload, s3Auth{key: key, date: amzDate, scope: credScope, seed: sig})
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// s3Escape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is
// %XX-encoded (upper-case hex); "/" is kept in paths.
func s3Escape(s string, path bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~', path && c == '/':
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// s3CanonicalRequest rebuilds the SigV4 canonical request: method, the
// request path as sent (so path style and virtual-host style differ), the
// query sorted by key then value (without X-Amz-Signature in presigned URLs),
// the signed headers with trimmed values, their names and the payload hash.
func s3CanonicalRequest(r *http.Request, q url.Values, signed []string, payload string, presigned bool) string {
	uri := s3Escape(r.URL.Path, true)
	if uri == "" {
		uri = "/"
	}
	var params []string
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			params = append(params, s3Escape(k, false)+"="+s3Escape(v, false))
		}
	}
	sort.Strings(params)
	var hdrs strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values("Content-Length")
			if len(vals) == 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		case "transfer-encoding":
			vals = r.TransferEncoding
		default:
			vals = r.Header.Values(name)
		}
		norm := make([]string, len(vals))
		for i, v := range vals {
			norm[i] = strings.Join(strings.Fields(v), " ")
		}
		hdrs.WriteString(name + ":" + strings.Join(norm, ",") + "\n")
	}
	return r.Method + "\n" + uri + "\n" + strings.Join(params, "&") + "\n" + hdrs.String() + "\n" +
		strings.Join(signed, ";") + "\n" + payload
}

// s3Body puts the verifiers the request's headers ask for in front of its
// body. Bodies of requests other than PUT are small XML documents: they are
// read and verified here, so a bad one is refused before the operation runs.
func s3Body(r *http.Request, payload string, a s3Auth) *apiError {
	chunked := false
	var kept []string
	for _, v := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if v = strings.TrimSpace(v); strings.EqualFold(v, "aws-chunked") {
			chunked = true
		} else if v != "" {
			kept = append(kept, v)
		}
	}
	switch {
	case payload == s3StreamingPayload:
		n, err := strconv.ParseInt(r.Header.Get("x-amz-decoded-content-length"), 10, 64)
		if err != nil || n < 0 {
			return errMissingContentLen.with("ArgumentName", "x-amz-decoded-content-length").
				with("ArgumentValue", r.Header.Get("x-amz-decoded-content-length"))
		}
		r.Body = &chunkReader{raw: r.Body, br: bufio.NewReader(r.Body), auth: a, prev: a.seed, h: sha256.New()}
		r.ContentLength = n
	case chunked || strings.HasPrefix(payload, "STREAMING-"):
		return errS3ChunkedUnsupported
	case payload == unsignedPayload:
	case isSHA256Hex(payload):
		want := strings.ToLower(payload)
		r.Body = verifying(r.Body, sha256.New(), func(sum []byte) *apiError {
			if got := hex.EncodeToString(sum); got != want {
				return errS3ContentSHA256Mismatch.with("ClientComputedContentSHA256", want).with("S3ComputedContentSHA256", got)
			}
			return nil
		})
	default:
		return invalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.", "x-amz-content-sha256", payload)
	}
	if chunked {
		if len(kept) == 0 {
			r.Header.Del("Content-Encoding")
		} else {
			r.Header.Set("Content-Encoding", strings.Join(kept, ","))
		}
	}
	for _, name := range s3ChecksumHeaders {
		want := r.Header.Get(name)
		if want == "" {
			continue
		}
		alg := strings.ToUpper(strings.TrimPrefix(name, "x-amz-checksum-"))
		var h hash.Hash
		switch alg {
		case "CRC32":
			h = crc32.NewIEEE()
		case "CRC32C":
			h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
		case "SHA1":
			h = sha1.New()
		case "SHA256":
			h = sha256.New()
		default:
			return invalidArgument("The emulator does not verify "+name+"; send CRC32, CRC32C, SHA1 or SHA256 checksums.", name, want)
		}
		r.Body = verifying(r.Body, h, func(sum []byte) *apiError {
			if got := base64.StdEncoding.EncodeToString(sum); got != want {
				return newErr(400, "BadDigest", "The "+alg+" you specified did not match the calculated checksum.").
					with("ClientComputedChecksum", want).with("ComputedChecksum", got)
			}
			return nil
		})
	}
	if r.Method == http.MethodPut {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxS3SmallBody+1))
	if err != nil {
		return bodyError(err)
	}
	if len(body) > maxS3SmallBody {
		return errEntityTooLarge.with("MaxSizeAllowed", strconv.Itoa(maxS3SmallBody))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return nil
}

// verifyingReader hashes what it passes on and, at the end of the body, has
// check judge the sum; a refusal takes the place of io.EOF.
type verifyingReader struct {
	io.ReadCloser
	h     hash.Hash
	check func(sum []byte) *apiError
}

func verifying(rc io.ReadCloser, h hash.Hash, check func([]byte) *apiError) io.ReadCloser {
	return &verifyingReader{ReadCloser: rc, h: h, check: check}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.ReadCloser.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if e := v.check(v.h.Sum(nil)); e != nil {
			return n, e
		}
	}
	return n, err
}

// chunkReader decodes an aws-chunked body ("<hex size>;chunk-signature=<sig>
// CRLF <data> CRLF", ending with a zero-size chunk) and verifies each chunk's
// signature, chained from the request's seed signature, once the chunk's data
// has been read. Data reaches the operation before its chunk is verified; a
// bad chunk fails the body, so nothing of it is stored.
type chunkReader struct {
	raw  io.ReadCloser
	br   *bufio.Reader
	auth s3Auth
	prev string // signature of the previous chunk (the seed at first)
	sig  string // signature of the current chunk
	h    hash.Hash
	left int64 // data bytes left in the current chunk
	open bool  // inside a chunk (header read, trailing CRLF not yet)
	size int64 // size of the current chunk
	err  error
}

var errMalformedChunk = errIncompleteBody.with("Detail", "The aws-chunked body is malformed.")

func (c *chunkReader) Close() error { return c.raw.Close() }

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.open {
			if err := c.endChunk(); err != nil {
				c.err = err
				return 0, err
			}
			if c.size == 0 {
				// Nothing may follow the final chunk. Reading the body to
				// its end here also leaves no unread request body for the
				// HTTP server to drain after the operation.
				if n, _ := io.Copy(io.Discard, io.LimitReader(c.br, 64<<10)); n > 0 {
					c.err = errMalformedChunk
					return 0, c.err
				}
				c.err = io.EOF
				return 0, io.EOF
			}
		}
		if err := c.startChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	if err != nil && (err != io.EOF || c.left > 0) {
		c.err = errIncompleteBody
		return n, c.err
	}
	return n, nil
}

func (c *chunkReader) startChunk() *apiError {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return errMalformedChunk
	}
	head := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	sizeHex, ext, ok := strings.Cut(head, ";")
	sig, hasSig := strings.CutPrefix(ext, "chunk-signature=")
	size, perr := strconv.ParseInt(sizeHex, 16, 64)
	if !ok || !hasSig || perr != nil || size < 0 {
		return errMalformedChunk
	}
	c.sig, c.size, c.left, c.open = sig, size, size, true
	c.h.Reset()
	return nil
}

func (c *chunkReader) endChunk() *apiError {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
		return errMalformedChunk
	}
	sts := s3ChunkAlgorithm + "\n" + c.auth.date + "\n" + c.auth.scope + "\n" + c.prev + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(c.h.Sum(nil))
	if want := hex.EncodeToString(hmacSHA256(c.auth.key, sts)); !hmac.Equal([]byte(want), []byte(c.sig)) {
		return errSignatureMismatch.with("StringToSign", sts).with("SignatureProvided", c.sig)
	}
	c.prev, c.open = c.sig, false
	return nil
}
