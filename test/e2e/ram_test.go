package e2e

import (
	"errors"
	"fmt"
	"os"
	"testing"

	alioss "github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// deliberateRefusals counts the RAM refusals the tests provoke on purpose;
// any other refusal fails the run (ramRefusals).
var deliberateRefusals int64

// TestRAMPolicyInForce: the emulators enforce examples/ram-policy.json, so
// every other scenario proves the policy sufficient. A call outside it
// (listing the account's buckets) gets OSS's RAM refusal.
func TestRAMPolicyInForce(t *testing.T) {
	if env.Policy == nil {
		t.Fatal("the stack runs without the RAM policy")
	}
	client, err := alioss.New(env.Emulator.OSSURL, stack.AccessKeyID, stack.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	deliberateRefusals++
	_, err = client.ListBuckets()
	var se alioss.ServiceError
	if !errors.As(err, &se) || se.StatusCode != 403 || se.Code != "AccessDenied" {
		t.Fatalf("ListBuckets under examples/ram-policy.json = %v, want 403 AccessDenied", err)
	}
}

// ramRefusals reports RAM refusals the emulators answered beyond the
// deliberate ones: a call the plugin makes that examples/ram-policy.json
// does not allow. It returns a non-zero exit code for them.
func ramRefusals() int {
	oss := env.Emulator.OSS.Operations()["Denied"]
	ecs := int64(env.Emulator.ECS.Responses("Forbidden.RAM"))
	if oss+ecs > deliberateRefusals {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: examples/ram-policy.json refused calls of the plugin: OSS AccessDenied %d, ECS Forbidden.RAM %d (%d deliberate)\n",
			oss, ecs, deliberateRefusals)
		return 1
	}
	return 0
}
