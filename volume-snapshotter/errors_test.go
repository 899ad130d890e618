package volumesnapshotter

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
)

func sdkError(code string, status int) error {
	return &tea.SDKError{Code: tea.String(code), StatusCode: tea.Int(status),
		Message: tea.String(fmt.Sprintf("code: %d, Some message. request id: 5A6B-0001", status))}
}

// TestErrorClasses pins what the plugin does with each ECS error code it
// knows, as the ECS API reference's error tables and the production clients
// (Terraform's NeedRetry, the CSI disk driver) read them.
func TestErrorClasses(t *testing.T) {
	tests := []struct {
		code                                            string
		status                                          int
		retry, notFound, snapshotBusy, copyBusy, refuse bool
	}{
		{code: "Throttling", status: 400, retry: true},
		{code: "Throttling.User", status: 400, retry: true},
		{code: "Throttling.Api", status: 400, retry: true},
		{code: "Throttling.ConcurrentLimitExceeded", status: 400, retry: true},
		{code: "Rejected.Throttling", status: 400, retry: true},
		{code: "ServiceUnavailable", status: 503, retry: true},
		{code: "InternalError", status: 500, retry: true},
		{code: "SomethingNew", status: 502, retry: true},
		{code: "InvalidOperation.Conflict", status: 409, retry: true},
		{code: "Operation.Conflict", status: 403, retry: true},
		{code: "IdempotentProcessing", status: 403, retry: true},
		{code: "LastTokenProcessing", status: 403, retry: true},
		{code: "IdempotentParameterMismatch", status: 403},
		{code: "InvalidSnapshotId.NotFound", status: 404, notFound: true},
		{code: "InvalidSnapshotId.NotFound", status: 403, notFound: true}, // CopySnapshot's status
		{code: "InvalidDiskId.NotFound", status: 404, notFound: true},
		{code: "InvalidAccessKeyId.NotFound", status: 404},
		{code: "InvalidRegionId.NotFound", status: 404},
		{code: "InvalidZoneId.NotFound", status: 404},
		{code: "IncorrectDiskStatus.CreatingSnapshot", status: 403, snapshotBusy: true},
		{code: "DISK_HAS_CREATING_SNAPSHOT", status: 403, snapshotBusy: true},
		{code: "QuotaExceed.ConcurrentSnapshotQuota", status: 403, snapshotBusy: true},
		{code: "IncorrectDiskStatus.Initializing", status: 403, snapshotBusy: true},
		{code: "IncorrectDiskStatus.NeverAttached", status: 403},
		{code: "IncorrectDiskStatus.NeverUsed", status: 403},
		{code: "QuotaExceed.Snapshot", status: 403},
		{code: "InvalidOperation.UnfinishedCrossRegionCopy", status: 403, copyBusy: true},
		{code: "InvalidOperation.UnfinishedEncryptedSnapshotCopy", status: 403, snapshotBusy: true, copyBusy: true},
		{code: "InvalidDataDiskCategory.NotSupported", status: 403, refuse: true},
		{code: "InvalidDataDiskCategory.ValueNotSupported", status: 400, refuse: true},
		{code: "InvalidDiskCategory.NotSupported", status: 400, refuse: true},
		{code: "Zone.NotOnSale", status: 403, refuse: true},
		{code: "OperationDenied.NoStock", status: 403, refuse: true},
		{code: "InvalidDiskSize.TooSmall", status: 400},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.code, tt.status), func(t *testing.T) {
			err := newAPIError("CreateDisk", "cn-hangzhou", sdkError(tt.code, tt.status))
			got := []bool{retryable(err.err), isNotFound(err), hasCode(err, snapshotBusyCodes), hasCode(err, copyBusyCodes), hasCode(err, categoryRefusedCodes)}
			want := []bool{tt.retry, tt.notFound, tt.snapshotBusy, tt.copyBusy, tt.refuse}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("[retry notFound snapshotBusy copyBusy categoryRefused] = %v, want %v", got, want)
			}
		})
	}
	for _, err := range []error{io.EOF, io.ErrUnexpectedEOF, errors.New("read tcp: connection reset by peer")} {
		if !retryable(err) {
			t.Errorf("retryable(%v) = false", err)
		}
	}
}

// TestErrorMessages checks that every permanent error a user can fix names
// the fix, in the same shape as the object store's errors.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		code, action string
		status       int
		want         []string
	}{
		{"InvalidAccessKeyId.NotFound", "DeleteSnapshot", 404, []string{"DeleteSnapshot in region cn-hangzhou: ECS InvalidAccessKeyId.NotFound (HTTP 404, request ID 5A6B-0001): Some message;", "AccessKey ID is unknown, revoked or disabled", "credentialsFile", "Velero retries"}},
		{"InvalidRegionId.NotFound", "DeleteSnapshot", 404, []string{"ECS does not know region cn-hangzhou", "region and replicaRegions"}},
		{"Forbidden.RAM", "CopySnapshot", 403, []string{"missing the ecs:CopySnapshot permission"}},
		{"QuotaExceed.Snapshot", "CreateSnapshot", 403, []string{"as many manual snapshots as ECS allows", "shorten snapshotRetentionDays", "velero backup delete"}},
		{"IncorrectDiskStatus.NeverAttached", "CreateSnapshot", 403, []string{"only disks that have been attached", "back up again"}},
		{"IdempotentParameterMismatch", "CreateDisk", 403, []string{"bug in the plugin"}},
		{"SignatureDoesNotMatch", "DescribeDisks", 400, []string{"secret does not match"}},
	}
	leak := &tea.SDKError{Code: tea.String("SignatureDoesNotMatch"), StatusCode: tea.Int(400),
		Message: tea.String("code: 400, Specified signature is not matched with our calculation. server string to sign is:POST&%2F&SecurityToken%3DCAIS-sts-token-value request id: 5A6B-0002")}
	if msg := newAPIError("DescribeDisks", "cn-hangzhou", leak).Error(); strings.Contains(msg, "sts-token-value") || !strings.Contains(msg, "request ID 5A6B-0002") || !strings.Contains(msg, "not matched with our calculation") {
		t.Errorf("SignatureDoesNotMatch message %q keeps the signed string (or lost the rest)", msg)
	}
	for _, tt := range tests {
		msg := newAPIError(tt.action, "cn-hangzhou", sdkError(tt.code, tt.status)).Error()
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tt.code, msg, w)
			}
		}
		if strings.Contains(msg, "code: ") || strings.Contains(msg, "request id:") {
			t.Errorf("%s: message %q keeps the SDK's wording", tt.code, msg)
		}
	}
}
