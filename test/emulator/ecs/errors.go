package ecs

import (
	"fmt"
	"net/http"
)

// apiError is one ECS error response. Codes, HTTP statuses and messages follow
// the ECS 2014-05-26 error-code tables (and the POP gateway's common errors for
// authentication), so code that matches on tea.SDKError.Code behaves as it
// would against Alibaba Cloud.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Gateway (authentication and protocol) errors.
func errMissingParam(name string) *apiError {
	return newErr(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", name)
}

func errInvalidParam(name string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidParameter", "The specified parameter %q is not valid.", name)
}

func errMalformed(name string) *apiError {
	return newErr(http.StatusBadRequest, "Invalid"+name+".Malformed", "The specified parameter %q is not valid.", name)
}

var (
	errIncompleteSignature = newErr(http.StatusBadRequest, "IncompleteSignature",
		"The request signature does not conform to Aliyun standards.")
	errSignatureMismatch = newErr(http.StatusBadRequest, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation.")
	errAccessKeyNotFound = newErr(http.StatusNotFound, "InvalidAccessKeyId.NotFound",
		"Specified access key is not found.")
	errAccessKeyInactive = newErr(http.StatusBadRequest, "InvalidAccessKeyId.Inactive",
		"Specified access key is disabled.")
	errTokenExpired = newErr(http.StatusBadRequest, "InvalidSecurityToken.Expired",
		"Specified SecurityToken is expired.")
	errTokenMismatch = newErr(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
		"Specified SecurityToken mismatch with the AccessKey.")
	errTokenMissing = newErr(http.StatusBadRequest, "InvalidSecurityToken.Malformed",
		"Specified SecurityToken is malformed.")
	errNonceUsed = newErr(http.StatusBadRequest, "SignatureNonceUsed",
		"Specified signature nonce was used already.")
	errTimestampFormat = newErr(http.StatusBadRequest, "InvalidTimeStamp.Format",
		"Specified time stamp or date value is not well formatted.")
	errTimestampExpired = newErr(http.StatusBadRequest, "InvalidTimeStamp.Expired",
		"Specified time stamp or date value is expired.")
	errPayloadHash = newErr(http.StatusBadRequest, "SignatureDoesNotMatch",
		"The x-acs-content-sha256 header does not match the request body.")
	errThrottling = newErr(http.StatusBadRequest, "Throttling",
		"Request was denied due to request throttling.")
	errServiceUnavailable = newErr(http.StatusServiceUnavailable, "ServiceUnavailable",
		"The request has failed due to a temporary failure of the server.")
)

func errActionNotFound(action string) *apiError {
	return newErr(http.StatusNotFound, "InvalidAction.NotFound",
		"Specified api %q is not found, please check your url and method.", action)
}

func errVersion(v string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version %q is not valid.", v)
}

// ECS resource errors.
func errRegionNotFound(param string) *apiError {
	return newErr(http.StatusNotFound, "InvalidRegionId.NotFound", "The specified %s does not exist.", param)
}

var (
	errZoneNotFound = newErr(http.StatusNotFound, "InvalidZoneId.NotFound",
		"The specified zone does not exist.")
	errDiskNotFound = newErr(http.StatusNotFound, "InvalidDiskId.NotFound",
		"The specified disk does not exist.")
	errSnapshotNotFound = newErr(http.StatusNotFound, "InvalidSnapshotId.NotFound",
		"The specified snapshot does not exist.")
	errSnapshotSizeTooSmall = newErr(http.StatusBadRequest, "InvalidDiskSize.TooSmall",
		"Specified disk size is less than the size of snapshot.")
	errDiskCategoryValue = newErr(http.StatusBadRequest, "InvalidDiskCategory.ValueNotSupported",
		"The specified parameter DiskCategory is not valid.")
	errDiskCategoryInZone = newErr(http.StatusForbidden, "InvalidDiskCategory.NotSupported",
		"The specified disk category is not supported in the specified zone.")
	errPerformanceLevel = newErr(http.StatusBadRequest, "InvalidPerformanceLevel.Malformed",
		"The specified parameter PerformanceLevel is not valid.")
	errIncorrectDiskStatus = newErr(http.StatusForbidden, "IncorrectDiskStatus",
		"The current disk status does not support this operation.")
	// A second CreateSnapshot while one is progressing. The ECS docs list "a
	// snapshot is being created for the disk" as a refusal; this is the code
	// the service returns for it.
	errCreatingSnapshot = newErr(http.StatusForbidden, "IncorrectDiskStatus.CreatingSnapshot",
		"A previous snapshot creation is in process.")
	errIncorrectSnapshotStatus = newErr(http.StatusForbidden, "IncorrectSnapshotStatus",
		"The current status of the snapshot does not support this operation.")
	// Documented in the ECS error-code table for CopySnapshot.
	errCopySameRegion = newErr(http.StatusForbidden, "InvalidOperation.NotSupportCopyInSameRegion",
		"Copying snapshot in the same region is not supported. Please specify a different DestinationRegionId and try again.")
	errSnapshotCreatedDisk = newErr(http.StatusForbidden, "SnapshotCreatedDisk",
		"The specified snapshot has been used to create disk.")
	errIdempotentMismatch = newErr(http.StatusBadRequest, "IdempotentParameterMismatch",
		"Request uses a client token in a previous request but is not identical to that request.")
	errResourceNotFound = newErr(http.StatusNotFound, "InvalidResourceId.NotFound",
		"The specified ResourceIds are not found in our records.")
	errResourceType = newErr(http.StatusBadRequest, "InvalidResourceType.NotFound",
		"The specified ResourceType is not found.")
	errTagCount = newErr(http.StatusBadRequest, "InvalidTagCount",
		"The specified tags are beyond the permitted range (at most 20 per resource).")
)

// errCategoryMinimum is the category-minimum refusal. The issue asks for the
// same code as the snapshot-size refusal; the message names the minimum.
func errCategoryMinimum(category, pl string, min int) *apiError {
	what := category
	if pl != "" {
		what += " " + pl
	}
	return newErr(http.StatusBadRequest, "InvalidDiskSize.TooSmall",
		"Specified disk size is less than the minimum %d GiB of disk category %s.", min, what)
}
