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
	// A call the caller's RAM policy does not allow. Code, status and message
	// are those of the ECS error tables (e.g. DescribeAutoProvisioningGroups,
	// the ECS error center) and of the POP gateway for every RAM-authorized
	// product; ECS answers it for explicit and implicit denies alike.
	errForbiddenRAM = newErr(http.StatusForbidden, "Forbidden.RAM",
		"User not authorized to operate on the specified resource, or this API doesn't support RAM.")
)

func errActionNotFound(action string) *apiError {
	return newErr(http.StatusNotFound, "InvalidAction.NotFound",
		"Specified api %q is not found, please check your url and method.", action)
}

func errVersion(v string) *apiError {
	return newErr(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version %q is not valid.", v)
}

// ECS resource errors. Codes, statuses and messages are those of the error
// tables of the API reference pages (CreateDisk, CreateSnapshot, CopySnapshot,
// DeleteSnapshot, TagResources); see the conformance table in
// test/emulator/README.md for the page of each one.
func errRegionNotFound(param string) *apiError {
	return newErr(http.StatusNotFound, "InvalidRegionId.NotFound", "The specified %s does not exist.", param)
}

var (
	errZoneNotFound = newErr(http.StatusNotFound, "InvalidZoneId.NotFound",
		"The specified zone does not exist.")
	errDiskNotFound = newErr(http.StatusNotFound, "InvalidDiskId.NotFound",
		"The specified DiskId does not exist.")
	errSnapshotNotFound = newErr(http.StatusNotFound, "InvalidSnapshotId.NotFound",
		"The specified SnapshotId does not exist.")
	// CopySnapshot documents its own NotFound with HTTP 403.
	errCopySourceNotFound = newErr(http.StatusForbidden, "InvalidSnapshotId.NotFound",
		"The specified snapshot is not exists.")
	errDestRegionNotExists = newErr(http.StatusForbidden, "InvalidRegionId.NotExists",
		"Region not exists.")
	errSnapshotSizeTooSmall = newErr(http.StatusForbidden, "InvalidDiskSize.TooSmall",
		"Specified disk size is less than the size of snapshot.")
	errDiskCategoryValue = newErr(http.StatusBadRequest, "InvalidDiskCategory.ValueNotSupported",
		"The specified parameter \"DiskCategory\" is not valid.")
	// A category the zone does not offer (CreateDisk error table, 400; older
	// versions of the page list it with 403).
	errDiskCategoryInZone = newErr(http.StatusBadRequest, "InvalidDataDiskCategory.NotSupported",
		"Specified disk category is not supported.")
	// A category the zone offers but has sold out. The message is the one
	// ECS documents for OperationDenied.NoStock.
	errNoStock = newErr(http.StatusForbidden, "OperationDenied.NoStock",
		"The requested resource is sold out in the specified zone; try other types of resources or other regions and zones.")
	errPerformanceLevel = newErr(http.StatusBadRequest, "InvalidPerformanceLevel.Malformed",
		"The specified parameter PerformanceLevel is not valid.")
	errIncorrectDiskStatus = newErr(http.StatusForbidden, "IncorrectDiskStatus",
		"The current disk status does not support this operation.")
	// A second CreateSnapshot while one is progressing (CreateSnapshot error
	// table). The same table also lists DISK_HAS_CREATING_SNAPSHOT and
	// QuotaExceed.ConcurrentSnapshotQuota for related cases.
	errCreatingSnapshot = newErr(http.StatusForbidden, "IncorrectDiskStatus.CreatingSnapshot",
		"A previous snapshot creation is in process.")
	errNeverAttached = newErr(http.StatusForbidden, "IncorrectDiskStatus.NeverAttached",
		"The specified disk has never been attached to any instance.")
	// Not in the CreateSnapshot table; the code is the one the CSI driver and
	// the Terraform provider retry on for disks still loading from a snapshot.
	// The message is an assumption.
	errDiskInitializing = newErr(http.StatusForbidden, "IncorrectDiskStatus.Initializing",
		"The specified disk is initializing, please try again later.")
	errSnapshotQuota = newErr(http.StatusForbidden, "QuotaExceed.Snapshot",
		"The snapshot quota exceeds.")
	errSnapshotNotReady = newErr(http.StatusForbidden, "InvalidSnapshotId.NotReady",
		"The specified snapshot has not completed yet.")
	errCopySameRegion = newErr(http.StatusForbidden, "InvalidOperation.NotSupportCopyInSameRegion",
		"Copying snapshot in the same region is not supported.")
	errUnfinishedCopy = newErr(http.StatusForbidden, "InvalidOperation.UnfinishedCrossRegionCopy",
		"This disk has unfinished cross-region copy snapshots in the target region.")
	errUnfinishedEncryptedCopy = newErr(http.StatusForbidden, "InvalidOperation.UnfinishedEncryptedSnapshotCopy",
		"This disk has unfinished encrypted copy snapshots in the target region.")
	errSnapshotCreatedDisk = newErr(http.StatusForbidden, "SnapshotCreatedDisk",
		"The snapshot has been used to create disk(s).")
	errIdempotentProcessing = newErr(http.StatusForbidden, "IdempotentProcessing",
		"The previous idempotent request(s) is still processing.")
	// CreateDisk documents LastTokenProcessing for the same situation.
	errLastTokenProcessing = newErr(http.StatusForbidden, "LastTokenProcessing",
		"The last token request is processing.")
	errClientToken = newErr(http.StatusForbidden, "InvalidClientToken.Malformed",
		"The specified clientToken is improperly formatted. It must contain only ASCII characters and must not exceed 64 characters in length.")
	errResourceNotFound = newErr(http.StatusNotFound, "InvalidResourceId.NotFound",
		"The specified ResourceIds are not found in our records.")
	errResourceType = newErr(http.StatusNotFound, "InvalidResourceType.NotFound",
		"The ResourceType provided does not exist in our records.")
	errTagCount = newErr(http.StatusBadRequest, "InvalidTagCount",
		"The specified tags are beyond the permitted range (at most 20 per resource).")
	errTagKey = newErr(http.StatusBadRequest, "InvalidTagKey.Malformed",
		"The specified Tag.n.Key is not valid.")
	errTagValue = newErr(http.StatusBadRequest, "InvalidTagValue.Malformed",
		"The specified Tag.n.Value is not valid.")
	errDuplicateTagKey = newErr(http.StatusBadRequest, "Duplicate.TagKey",
		"The Tag.N.Key contain duplicate key.")
)

// errIdempotentMismatch is a ClientToken reused with other parameters.
// CreateSnapshot documents HTTP 403 and its own message; CreateDisk and
// CopySnapshot do not list the code, so they answer like the ECS-wide
// error (400).
func errIdempotentMismatch(action string) *apiError {
	if action == "CreateSnapshot" {
		return newErr(http.StatusForbidden, "IdempotentParameterMismatch", "The specified clientToken is used.")
	}
	return newErr(http.StatusBadRequest, "IdempotentParameterMismatch",
		"Request uses a client token in a previous request but is not identical to that request.")
}

// errRetentionDays is an out-of-range RetentionDays: 400 in CreateSnapshot's
// table, 403 in CopySnapshot's.
func errRetentionDays(status int) *apiError {
	return newErr(status, "InvalidRetentionDays.Malformed", "The specified RetentionDays is not valid.")
}

// errCategoryMinimum is the category-minimum refusal. It uses the same code
// as the snapshot-size refusal (documented with HTTP 403); the message names
// the minimum.
func errCategoryMinimum(category, pl string, min int) *apiError {
	what := category
	if pl != "" {
		what += " " + pl
	}
	return newErr(http.StatusForbidden, "InvalidDiskSize.TooSmall",
		"Specified disk size is less than the minimum %d GiB of disk category %s.", min, what)
}
