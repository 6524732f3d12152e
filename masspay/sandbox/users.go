package sandbox

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/payrun/payrun/masspay"
)

// kycHoldDomain is the magic email domain: users whose email ends in it are
// on a compliance hold from creation.
const kycHoldDomain = "@kyc-hold.example"

var (
	alpha3  = regexp.MustCompile(`^[A-Z]{3}$`)
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

var timezones = map[string]string{
	"USA": "America/New_York", "MEX": "America/Mexico_City", "BRA": "America/Sao_Paulo", "IND": "Asia/Kolkata",
	"PHL": "Asia/Manila", "GBR": "Europe/London", "CAN": "America/Toronto", "NGA": "Africa/Lagos",
}

func (s *Sandbox) getBalances(*request) (int, any, *apiError) {
	out := make([]masspay.AvailableBalance, 0, len(s.balances))
	for _, b := range s.sortedBalances() {
		out = append(out, masspay.AvailableBalance{Token: b.token, Balance: b.amount, CurrencyCode: b.currency})
	}
	return http.StatusOK, out, nil
}

// user404 finds a user by token or answers 404.
func (s *Sandbox) user404(tok string) (*user, *apiError) {
	u := s.users[tok]
	if u == nil {
		return nil, notFound("user %s not found", tok)
	}
	return u, nil
}

func (s *Sandbox) lookupUser(rq *request) (int, any, *apiError) {
	id, email, first := rq.q.Get("internal_user_id"), rq.q.Get("email"), rq.q.Get("first_name")
	var u *user
	switch {
	case id != "":
		u = s.usersByID[id]
		if u != nil && email != "" && !strings.EqualFold(u.Email, email) {
			u = nil
		}
	case email != "" && first != "":
		u = s.usersByEmail[strings.ToLower(email)]
		if u != nil && !strings.EqualFold(u.FirstName, first) {
			u = nil
		}
	default:
		return 0, nil, badField("internal_user_id", "required", "internal_user_id, or email and first_name, are required")
	}
	if u == nil {
		return 0, nil, notFound("no user matches the lookup")
	}
	return http.StatusOK, masspay.FoundUser{UserToken: u.UserToken, FirstName: u.FirstName, LastName: u.LastName,
		InternalUserID: u.InternalUserID, Email: u.Email}, nil
}

func (s *Sandbox) createUser(rq *request) (int, any, *apiError) {
	var in masspay.User
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if e := required("internal_user_id", in.InternalUserID, "country", in.Country, "first_name", in.FirstName,
		"last_name", in.LastName, "email", in.Email); e != nil {
		return 0, nil, e
	}
	if e := s.checkUserFields(in.Country, in.Email, in.InternalUserID); e != nil {
		return 0, nil, e
	}
	if s.usersByEmail[strings.ToLower(in.Email)] != nil {
		return 0, nil, &apiError{Status: http.StatusConflict, Title: "Conflict", Message: "a user with this email already exists",
			Code: "DUPLICATE_EMAIL", Reason: "duplicate", Details: []string{"email"}}
	}
	if s.usersByID[in.InternalUserID] != nil {
		return 0, nil, &apiError{Status: http.StatusConflict, Title: "Conflict", Message: "a user with this internal_user_id already exists",
			Code: "DUPLICATE_USER", Reason: "duplicate", Details: []string{"internal_user_id"}}
	}
	s.seq++
	u := &user{seq: s.seq, StoredUser: masspay.StoredUser{
		UserToken: "usr_" + s.uuid(), Status: masspay.UserActive, CreatedOn: stamp(s.Now()),
		Profile: in.Profile, Timezone: timezones[in.Country],
	}}
	if u.Timezone == "" {
		u.Timezone = "UTC"
	}
	u.ActivationURL = "https://sandbox.masspay.example/activate/" + s.uuid()
	if strings.HasSuffix(strings.ToLower(in.Email), kycHoldDomain) {
		s.hold(u)
	}
	s.users[u.UserToken] = u
	s.userList = append(s.userList, u)
	s.touchUser(u)
	s.usersByEmail[strings.ToLower(u.Email)] = u
	s.usersByID[u.InternalUserID] = u
	return http.StatusOK, u.StoredUser, nil
}

func (s *Sandbox) checkUserFields(country, email, id string) *apiError {
	if country != "" && !alpha3.MatchString(country) {
		return badField("country", "invalid_country", "country must be an ISO 3166 alpha-3 code such as USA")
	}
	if email != "" && !emailRe.MatchString(email) {
		return badField("email", "invalid_email", "email is not a valid address")
	}
	return maxLen("internal_user_id", id, 50)
}

func (s *Sandbox) getUser(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, u.StoredUser, nil
}

func (s *Sandbox) updateUser(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	var in masspay.UpdateUser
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if e := s.checkUserFields(in.Country, in.Email, in.InternalUserID); e != nil {
		return 0, nil, e
	}
	s.touchUser(u)
	if in.Email != "" && !strings.EqualFold(in.Email, u.Email) {
		if s.usersByEmail[strings.ToLower(in.Email)] != nil {
			return 0, nil, &apiError{Status: http.StatusConflict, Title: "Conflict", Message: "a user with this email already exists",
				Code: "DUPLICATE_EMAIL", Reason: "duplicate", Details: []string{"email"}}
		}
		delete(s.usersByEmail, strings.ToLower(u.Email))
		u.Email = in.Email
		s.usersByEmail[strings.ToLower(u.Email)] = u
	}
	if in.InternalUserID != "" && in.InternalUserID != u.InternalUserID {
		if s.usersByID[in.InternalUserID] != nil {
			return 0, nil, &apiError{Status: http.StatusConflict, Title: "Conflict", Message: "a user with this internal_user_id already exists",
				Code: "DUPLICATE_USER", Reason: "duplicate", Details: []string{"internal_user_id"}}
		}
		delete(s.usersByID, u.InternalUserID)
		u.InternalUserID = in.InternalUserID
		s.usersByID[u.InternalUserID] = u
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&u.Country, in.Country)
	set(&u.FirstName, in.FirstName)
	set(&u.LastName, in.LastName)
	set(&u.Address1, in.Address1)
	set(&u.Address2, in.Address2)
	set(&u.City, in.City)
	set(&u.StateProvince, in.StateProvince)
	set(&u.PostalCode, in.PostalCode)
	set(&u.MiddleName, in.MiddleName)
	set(&u.Language, in.Language)
	set(&u.MobileNumber, in.MobileNumber)
	set(&u.BusinessName, in.BusinessName)
	set(&u.DateOfBirth, in.DateOfBirth)
	if in.Metadata != nil {
		u.Metadata = in.Metadata
	}
	return http.StatusOK, u.StoredUser, nil
}

func (s *Sandbox) listCountries(*request) (int, any, *apiError) {
	out := make([]masspay.Country, 0, len(countryList))
	for _, c := range countryList {
		out = append(out, masspay.Country{Code: c.Alpha2, Name: c.Name, ThreeLetterCode: c.Alpha3})
	}
	return http.StatusOK, out, nil
}
