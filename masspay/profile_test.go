package masspay

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestProfileWireUnchanged: User, UpdateUser and StoredUser embed Profile;
// their JSON must be byte for byte what it was when each wrote the sixteen
// fields out (the expected strings were produced by those types), empty and
// full, and must read back into the same values.
func TestProfileWireUnchanged(t *testing.T) {
	yes := true
	md := map[string]any{"team": "ops", "n": 2.0}
	req := Profile{InternalUserID: "u1", Country: "USA", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}
	full := Profile{InternalUserID: "u1", Country: "USA", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Address1: "1 Main St", Address2: "Apt 2", City: "Austin", StateProvince: "TX", PostalCode: "78701", MiddleName: "B",
		Language: "en", MobileNumber: "+15125550100", BusinessName: "Ada LLC", DateOfBirth: "1990-12-10", Metadata: md}
	const fullJSON = `"internal_user_id":"u1","country":"USA","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com",` +
		`"address1":"1 Main St","address2":"Apt 2","city":"Austin","state_province":"TX","postal_code":"78701","middle_name":"B",` +
		`"language":"en","mobile_number":"+15125550100","business_name":"Ada LLC","date_of_birth":"1990-12-10","metadata":{"n":2,"team":"ops"}`
	for _, c := range []struct {
		v    any
		want string
	}{
		{User{}, `{"internal_user_id":"","country":"","first_name":"","last_name":"","email":""}`},
		{User{Profile: req}, `{"internal_user_id":"u1","country":"USA","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}`},
		{User{Profile: full, NotifyUser: &yes}, `{` + fullJSON + `,"notify_user":true}`},
		{UpdateUser{}, `{}`},
		{UpdateUser{Profile: Profile{City: "Lima"}}, `{"city":"Lima"}`},
		{UpdateUser{Profile: Profile{Email: "new@example.com", City: "Lima"}}, `{"email":"new@example.com","city":"Lima"}`},
		{UpdateUser{Profile: full}, `{` + fullJSON + `}`},
		{StoredUser{}, `{"user_token":"","status":"","created_on":"","internal_user_id":"","country":"","first_name":"","last_name":"","email":"","timezone":""}`},
		{StoredUser{UserToken: "usr_1", Status: "ACTIVE", CreatedOn: "2026-01-02T03:04:05Z", Profile: full, Timezone: "America/Chicago", ActivationURL: "https://x/a"},
			`{"user_token":"usr_1","status":"ACTIVE","created_on":"2026-01-02T03:04:05Z",` + fullJSON + `,"timezone":"America/Chicago","activation_url":"https://x/a"}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T:\n got %s (%v)\nwant %s", c.v, b, err, c.want)
			continue
		}
		back := reflect.New(reflect.TypeOf(c.v))
		if err := json.Unmarshal(b, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), c.v) {
			t.Errorf("%T: read back %+v (%v), want %+v", c.v, back.Elem().Interface(), err, c.v)
		}
	}
}
