package oss

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
)

// apiError is an OSS error response: the HTTP status, the Code element and the
// Message element as real OSS sends them, plus optional extra elements
// (Key, UploadId, StringToSign, ...).
type apiError struct {
	Status  int
	Code    string
	Message string
	Extra   []xmlField
}

type xmlField struct {
	Name, Value string
	// Children, if set, are rendered inside the element instead of Value
	// (AccessDeniedDetail).
	Children []xmlField
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (e *apiError) with(name, value string) *apiError {
	c := *e
	c.Extra = append(append([]xmlField(nil), e.Extra...), xmlField{Name: name, Value: value})
	return &c
}

func newErr(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// The error codes and messages real OSS returns for the situations the
// emulator models.
var (
	errAccessDenied       = newErr(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
	errRequestExpired     = newErr(403, "AccessDenied", "Request has expired.")
	errInvalidAccessKeyID = newErr(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
	errSignatureMismatch  = newErr(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	errTimeTooSkewed      = newErr(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	errTokenExpired       = newErr(403, "SecurityTokenExpired", "The security token you provided has expired.")
	errInvalidToken       = newErr(403, "InvalidSecurityToken", "The security token you provided is invalid.")
	errNoSuchBucket       = newErr(404, "NoSuchBucket", "The specified bucket does not exist.")
	errNoSuchKey          = newErr(404, "NoSuchKey", "The specified key does not exist.")
	errNoSuchUpload       = newErr(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	errInvalidPart        = newErr(400, "InvalidPart", "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.")
	errInvalidPartOrder   = newErr(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list must specified in order by part number.")
	errEntityTooSmall     = newErr(400, "EntityTooSmall", "Your proposed upload smaller than the minimum allowed object size.")
	errEntityTooLarge     = newErr(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	errInvalidDigest      = newErr(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
	errMalformedXML       = newErr(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	errInvalidObjectState = newErr(403, "InvalidObjectState", "The operation is not valid for the object's state.")
	errInvalidRange       = newErr(416, "InvalidRange", "The requested range cannot be satisfied")
	errFileAlreadyExists  = newErr(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
	errInvalidEncryption  = newErr(400, "InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256/KMS/SM4.")
	errMissingContentLen  = newErr(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	errInternal           = newErr(500, "InternalError", "We encountered an internal error. Please try again.")
	errServiceUnavailable = newErr(503, "ServiceUnavailable", "Please reduce your request rate.")
	// OSS answers NotImplemented with 400 (its error reference and the
	// GetObject example), not HTTP's 501.
	errNotImplemented    = newErr(400, "NotImplemented", "The emulator does not implement this operation.")
	errMethodNotAllowed  = newErr(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	errInvalidBucketName = newErr(400, "InvalidBucketName", "The specified bucket is not valid.")
	errInvalidObjectName = newErr(400, "InvalidObjectName", "The specified object is not valid.")
	errIncompleteBody    = newErr(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
)

// bodyError is the answer to a request body that could not be read whole:
// the refusal of a verifying reader (S3 chunk signatures, payload hashes,
// checksums) or else IncompleteBody.
func bodyError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	return errIncompleteBody
}

func invalidArgument(msg, name, value string) *apiError {
	return newErr(400, "InvalidArgument", msg).with("ArgumentName", name).with("ArgumentValue", value)
}

// errorXML renders e like OSS does.
func errorXML(e *apiError, requestID, hostID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error>\n")
	field := func(name, value string) {
		b.WriteString("  <" + name + ">")
		_ = xml.EscapeText(&b, []byte(value))
		b.WriteString("</" + name + ">\n")
	}
	group := func(f xmlField) {
		b.WriteString("  <" + f.Name + ">\n")
		for _, c := range f.Children {
			b.WriteString("  ")
			field(c.Name, c.Value)
		}
		b.WriteString("  </" + f.Name + ">\n")
	}
	field("Code", e.Code)
	field("Message", e.Message)
	field("RequestId", requestID)
	field("HostId", hostID)
	for _, f := range e.Extra {
		if f.Children != nil {
			group(f)
			continue
		}
		field(f.Name, f.Value)
	}
	b.WriteString("</Error>\n")
	return b.Bytes()
}

// writeError sends e. HEAD responses carry no body, so, like OSS, the XML goes
// base64-encoded into the x-oss-err header instead.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError, requestID string) {
	body := errorXML(e, requestID, r.Host)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
