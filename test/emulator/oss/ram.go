package oss

import "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"

// RAM refusals. OSS answers a request that no statement of the caller's RAM
// policy allows (implicit deny) with 403 AccessDenied, EC 0003-00000001 and an
// AccessDeniedDetail naming the action; the Message is the bucket-ACL text
// for object operations and "The bucket you access does not belong to you."
// for bucket operations. Sources: OSS error-center page 0003-00000001
// (alibabacloud.com/help/en/oss/support/0003-00000001: RAM user without
// PutObject/GetObject permission; the "does not belong to you" text for a RAM
// user lacking bucket permissions), the EMR page "Fix the AccessDenied error
// that occurs when I access OSS" (the bucket-level XML), and real responses
// quoted in public issue threads (<NoPermissionType>ImplicitDeny</...>,
// <EC>0003-00000001</EC>). A matching Deny statement (explicit deny) answers
// "Access denied by bucket policy." with EC 0003-00000201 (error-center page
// 0003-00000201).
const (
	msgRAMObjectDenied = "You have no right to access this object because of bucket acl."
	msgRAMBucketDenied = "The bucket you access does not belong to you."
	msgRAMExplicitDeny = "Access denied by bucket policy."
)

// authorize checks the request against Config.Policy; nil means allowed.
func (s *Server) authorize(op string, t target) *apiError {
	action, ok := ram.OSSActions[op]
	if !ok || s.cfg.Policy == nil {
		return nil
	}
	var res string
	switch {
	case op == "ListBuckets":
		res = ram.OSSResource(s.region(), "", "")
	case op == "DeleteMultipleObjects":
		// The keys are in the body; the emulator checks the whole bucket.
		res = ram.OSSResource(s.region(), t.bucket, "*")
	case ram.OSSBucketLevel(action):
		res = ram.OSSResource(s.region(), t.bucket, "")
	default:
		res = ram.OSSResource(s.region(), t.bucket, t.key)
	}
	d := s.cfg.Policy.Evaluate(action, res)
	if d == ram.Allow {
		return nil
	}
	e := newErr(403, "AccessDenied", msgRAMObjectDenied)
	ec := "0003-00000001"
	switch {
	case d == ram.ExplicitDeny:
		e.Message, ec = msgRAMExplicitDeny, "0003-00000201"
	case ram.OSSBucketLevel(action):
		e.Message = msgRAMBucketDenied
	}
	e.Extra = append(e.Extra, xmlField{Name: "AccessDeniedDetail", Children: []xmlField{
		{Name: "PolicyType", Value: "AccountLevelIdentityBasedPolicy"},
		{Name: "AuthPrincipalOwnerId", Value: ram.AccountID},
		{Name: "AuthPrincipalType", Value: "SubUser"},
		{Name: "NoPermissionType", Value: d.String()},
		{Name: "AuthAction", Value: action},
	}})
	if t.bucket != "" {
		e = e.with("BucketName", t.bucket)
	}
	return e.with("EC", ec)
}
