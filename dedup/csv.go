package dedup

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the header WriteCSV writes: the profile columns an import reads,
// the list's own customer id, and the truth (label: the person's entity).
var CSVHeader = []string{"email", "phone", "first_name", "last_name", "birth_date", "postal_code", "city", "address", "customer_id", "label"}

// WriteCSV writes labelled records as a contacts list with the mess real lists
// have, each kind on a fixed share of rows so a run is repeatable, and none of
// it changing who the row is: emails wrapped the way people and spreadsheets
// wrap them ("Name" <addr>, mailto:, stray spaces and a trailing dot), phones
// written nationally without their country code (read in the list's region),
// a few phones that are no number at all (refused, the rest of the row kept),
// birth dates written day first with dots or slashes, and last names in
// capitals. Row i (from 1) has customer id CustomerID(i).
func WriteCSV(w io.Writer, labeled []Labeled) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for i, l := range labeled {
		email, phone, birth, last := l.Email, l.Phone, l.BirthDate, l.LastName
		switch {
		case email == "":
		case i%10 == 3:
			email = fmt.Sprintf("%q <%s>", l.LastName+", "+l.FirstName, email)
		case i%10 == 7:
			email = "mailto:" + email
		case i%17 == 5:
			email = " " + email + ".\u00a0"
		}
		switch {
		case phone == "":
		case i%53 == 11:
			phone = "12345"
		case i%6 == 1:
			phone = national(phone)
		}
		if len(birth) == len("2006-01-02") {
			switch {
			case i%5 == 2:
				birth = birth[8:10] + "." + birth[5:7] + "." + birth[0:4]
			case i%9 == 4:
				birth = birth[8:10] + "/" + birth[5:7] + "/" + birth[0:4]
			}
		}
		if i%8 == 6 {
			last = strings.ToUpper(last)
		}
		cw.Write([]string{email, phone, l.FirstName, last, birth, l.PostalCode, l.City, l.Address, CustomerID(i + 1), strconv.Itoa(l.Entity)})
	}
	cw.Flush()
	return cw.Error()
}

// CustomerID is the customer id WriteCSV gives row n (from 1).
func CustomerID(n int) string { return fmt.Sprintf("cust-%06d", n) }

// national writes an E.164 number as people write it at home: without the
// country code, in groups (+4745261999 → 452 61 999; +447911123456 → 07911 123456).
func national(e164 string) string {
	switch {
	case strings.HasPrefix(e164, "+47") && len(e164) == 11:
		d := e164[3:]
		return d[:3] + " " + d[3:5] + " " + d[5:]
	case strings.HasPrefix(e164, "+44") && len(e164) == 13:
		d := "0" + e164[3:]
		return d[:5] + " " + d[5:]
	}
	return e164
}
