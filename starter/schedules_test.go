package main

import (
	"strings"
	"testing"

	"github.com/kithhq/kith/schemas"
)

func TestEmbeddedSchedulesParse(t *testing.T) {
	s, err := parseSchedules(schemas.Schedules)
	if err != nil || len(s) < 2 {
		t.Fatalf("%d schedules, %v", len(s), err)
	}
}

func TestBadSchedulesAreRefusedWithReasons(t *testing.T) {
	_, err := parseSchedules([]byte(`{"schedules":[
		{"id":"a","workflow":"Nope","every":"1h","overlap":"skip"},
		{"id":"a","workflow":"Deduplicate","every":"1h","cron":"0 3 * * *","overlap":"sometimes"},
		{"id":"b","workflow":"Deduplicate","every":"10s","overlap":"skip","jitter":"soon"}]}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`unknown workflow "Nope"`, "unique id", "exactly one of every and cron", `overlap "sometimes"`, "at least 1m", `jitter "soon"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}
