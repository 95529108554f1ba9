package quality

import (
	"time"
	_ "time/tzdata" // zones load the same everywhere, whatever the machine has

	"github.com/nyaruka/phonenumbers/v2"
	"github.com/nyaruka/phonenumbers/v2/timezone"

	"github.com/kithhq/kith"
)

// TimeZone is the IANA zone to time a contact's messages by: the zone its
// browser reported, else its phone number's (the first of a number's zones),
// else its country's main zone (that of the country's example number), else
// UTC.
func TimeZone(fields map[kith.Field]kith.Value, reported string) string {
	// The zone data (time/tzdata, phonenumbers' prefix table) is embedded:
	// the same fields give the same zone (workflows call TimeZone).
	if reported != "" {
		//workflowcheck:ignore
		if _, err := time.LoadLocation(reported); err == nil && reported != "Local" {
			return reported
		}
	}
	if phone := fields[kith.FieldPhone].Value; phone != "" {
		if n, err := phonenumbers.Parse(phone, ""); err == nil {
			if z := firstZone(n); z != "" {
				return z
			}
		}
	}
	if country := fields[kith.FieldCountry].Value; country != "" {
		if n := phonenumbers.GetExampleNumber(country); n != nil {
			if z := firstZone(n); z != "" {
				return z
			}
		}
	}
	return "UTC"
}

func firstZone(n *phonenumbers.PhoneNumber) string {
	//workflowcheck:ignore
	zones, err := timezone.GetTimeZonesForNumber(n)
	if err != nil || len(zones) == 0 || zones[0] == timezone.Unknown {
		return ""
	}
	//workflowcheck:ignore
	if _, err := time.LoadLocation(zones[0]); err != nil {
		return ""
	}
	return zones[0]
}
