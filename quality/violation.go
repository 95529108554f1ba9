package quality

import "github.com/kithhq/kith"

func reject(f kith.Field, code, msg string) kith.Violation {
	return kith.Violation{Field: string(f), Code: code, Message: msg, Severity: kith.SeverityReject}
}

func warn(f kith.Field, code, msg string) kith.Violation {
	return kith.Violation{Field: string(f), Code: code, Message: msg, Severity: kith.SeverityWarn}
}
