package volumesnapshotter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// This file is the plugin's one reading of ECS error codes: which ones mean
// "try again", "wait", "gone", "try another disk category" or "the user must
// fix something". The codes come from the error tables of the ECS 2014-05-26
// API reference (CreateDisk, CreateSnapshot, CopySnapshot, DeleteSnapshot)
// and from how production clients react to them: Terraform's alicloud
// provider (NeedRetry: any Throttling code, Rejected.Throttling,
// ServiceUnavailable, 5xx) and the Alibaba Cloud CSI disk driver.

// codeSet matches ECS error codes: an entry ending in "." matches every code
// with that prefix, any other entry only itself.
type codeSet []string

func (s codeSet) has(code string) bool {
	if code == "" {
		return false
	}
	for _, c := range s {
		if code == c || strings.HasSuffix(c, ".") && strings.HasPrefix(code, c) {
			return true
		}
	}
	return false
}

var (
	// retryCodes are answered by an overloaded or busy service: the same
	// call succeeds later. IdempotentProcessing (and CreateDisk's
	// LastTokenProcessing) mean the first request with this ClientToken is
	// still running; its retry returns what that request made.
	retryCodes = codeSet{
		"Throttling", "Throttling.", "Rejected.Throttling",
		"ServiceUnavailable", "InternalError", "UnknownError",
		"InvalidOperation.Conflict", "Operation.Conflict", "OperationConflict",
		"IdempotentProcessing", "LastTokenProcessing",
	}
	// notFoundCodes name a resource that does not exist (any more). Other
	// NotFound codes, such as InvalidAccessKeyId.NotFound or
	// InvalidRegionId.NotFound, are configuration errors.
	notFoundCodes = codeSet{
		"InvalidSnapshotId.NotFound", "InvalidSnapshotId.NotExist",
		"InvalidDiskId.NotFound", "InvalidResource.NotFound",
	}
	// snapshotBusyCodes refuse CreateSnapshot while the disk is busy: another
	// snapshot of it is being made, the account's concurrent-snapshot quota
	// is used up, an encrypted copy is unfinished, or the disk is still
	// loading its data from the snapshot it was made from. Waiting helps.
	snapshotBusyCodes = codeSet{
		"IncorrectDiskStatus.CreatingSnapshot", "DISK_HAS_CREATING_SNAPSHOT",
		"QuotaExceed.ConcurrentSnapshotQuota", "IncorrectDiskStatus.Initializing",
		"InvalidOperation.UnfinishedEncryptedSnapshotCopy",
	}
	// copyBusyCodes refuse CopySnapshot while an earlier copy of a snapshot
	// of the same disk to the same region is unfinished (ECS allows one):
	// common with frequent schedules and replicaRegions. Waiting helps.
	copyBusyCodes = codeSet{"InvalidOperation.UnfinishedCrossRegionCopy", "InvalidOperation.UnfinishedEncryptedSnapshotCopy"}
	// categoryRefusedCodes refuse CreateDisk for the category in the zone:
	// not offered there, no longer sold, or out of stock. Another category
	// may succeed.
	categoryRefusedCodes = codeSet{
		"InvalidDataDiskCategory.", "InvalidDiskCategory.NotSupported",
		"Zone.NotOnSale", "OperationDenied.NoStock",
	}
	// permissionCodes are the RAM gateway's refusals for a missing
	// permission.
	permissionCodes = codeSet{"Forbidden.RAM", "Forbidden.RAM.", "Forbidden", "Forbidden.NotAuthorized", "NoPermission", "InvalidOperation.NoPermission"}
)

// hints tell the user what to fix for the permanent errors they can fix.
// {action} and {region} stand for the failed call's.
var hints = []struct {
	codes codeSet
	hint  string
}{
	{codeSet{"InvalidAccessKeyId."}, "the AccessKey ID is unknown, revoked or disabled: put a valid AccessKey pair in the credentials file (" + keyCredentialsFile + ") or fix the RAM role; nothing was changed, so Velero retries once it works"},
	{codeSet{"SignatureDoesNotMatch", "IncompleteSignature"}, "the AccessKey secret does not match the AccessKey ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET in the credentials file"},
	{codeSet{"InvalidSecurityToken."}, "the STS token is invalid or expired: refresh the credentials file or check the RAM role"},
	{codeSet{"InvalidRegionId."}, "ECS does not know region {region}: check the VolumeSnapshotLocation's " + keyRegion + " and " + keyReplicaRegions + " (and the region of the snapshot ID)"},
	{permissionCodes, "the RAM policy of the credentials is missing the ecs:{action} permission"},
	{codeSet{"QuotaExceed.Snapshot"}, "the disk has as many manual snapshots as ECS allows: shorten " + keySnapshotRetentionDays + " or the backups' TTL, or delete old backups (velero backup delete)"},
	{codeSet{"IncorrectDiskStatus.NeverAttached", "IncorrectDiskStatus.NeverUsed"}, "ECS snapshots only disks that have been attached to an instance: run the workload that uses this volume once (or leave the volume out of the backup), then back up again"},
	{codeSet{"IdempotentParameterMismatch"}, "a ClientToken was sent again with other parameters, which is a bug in the plugin: please report it"},
}

// retryable reports whether a failed call may succeed when sent again.
func retryable(err error) bool {
	var se *tea.SDKError
	if errors.As(err, &se) {
		return retryCodes.has(tea.StringValue(se.Code)) || tea.IntValue(se.StatusCode) >= 500
	}
	// A failure before ECS answered; the SDK returns these unwrapped.
	return retry.IsTransportError(err)
}

// errorCode is the ECS error code of err, or "". An apiError's code is its
// SDK error's, which Unwrap exposes.
func errorCode(err error) string {
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code)
	}
	return ""
}

// hasCode reports whether err is an ECS error with a code in s.
func hasCode(err error, s codeSet) bool { return s.has(errorCode(err)) }

// isNotFound reports whether err says the disk or snapshot does not exist.
func isNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf) || hasCode(err, notFoundCodes)
}

// apiError is a failed ECS call, phrased for a Velero log: the action and
// region, ECS's code, HTTP status, request ID and message, and what to fix.
// It wraps the SDK error for errors.As.
type apiError struct {
	action, region string
	code           string
	status         int
	requestID      string
	message        string
	err            error
}

func newAPIError(action, region string, err error) *apiError {
	e := &apiError{action: action, region: region, err: err}
	var se *tea.SDKError
	if !errors.As(err, &se) {
		e.message = err.Error()
		return e
	}
	e.code, e.status = tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
	e.message, e.requestID = splitSDKMessage(tea.StringValue(se.Message))
	var data struct{ RequestId string }
	if json.Unmarshal([]byte(tea.StringValue(se.Data)), &data) == nil && data.RequestId != "" {
		e.requestID = data.RequestId
	}
	return e
}

// splitSDKMessage undoes the SDK's "code: 403, <message> request id: <id>".
func splitSDKMessage(m string) (message, requestID string) {
	if rest, ok := strings.CutPrefix(m, "code: "); ok {
		if _, after, ok := strings.Cut(rest, ", "); ok {
			m = after
		}
	}
	if i := strings.LastIndex(m, " request id: "); i >= 0 {
		m, requestID = m[:i], strings.TrimSpace(m[i+len(" request id: "):])
	}
	// ECS's SignatureDoesNotMatch message goes on with the string it
	// signed, which holds the request's parameters, an STS token among
	// them: never pass it on.
	if i := strings.Index(strings.ToLower(m), "string to sign"); i >= 0 {
		m = strings.TrimSuffix(strings.TrimSpace(m[:i]), " server")
	}
	return strings.TrimSpace(m), requestID
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in region %s", e.action, e.region)
	if e.code != "" {
		fmt.Fprintf(&b, ": ECS %s (HTTP %d", e.code, e.status)
		if e.requestID != "" {
			fmt.Fprintf(&b, ", request ID %s", e.requestID)
		}
		b.WriteString(")")
	}
	if m := strings.TrimSuffix(e.message, "."); m != "" {
		fmt.Fprintf(&b, ": %s", m)
	}
	if h := e.hint(); h != "" {
		fmt.Fprintf(&b, "; %s", h)
	}
	return b.String()
}

func (e *apiError) hint() string {
	for _, h := range hints {
		if h.codes.has(e.code) {
			return strings.NewReplacer("{action}", e.action, "{region}", e.region).Replace(h.hint)
		}
	}
	return ""
}

func (e *apiError) Unwrap() error { return e.err }
