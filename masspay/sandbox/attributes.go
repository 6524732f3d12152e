package sandbox

import (
	"fmt"
	"net/http"

	"github.com/payrun/payrun/masspay"
)

// attrRoute resolves the user and route of an /attribute/{user}/{dst}/{cur}
// path.
func (s *Sandbox) attrRoute(rq *request) (*user, *route, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return nil, nil, e
	}
	r := routesByToken[rq.seg[2]]
	if r == nil {
		return nil, nil, notFound("destination %s not found", rq.seg[2])
	}
	return u, r, nil
}

func (s *Sandbox) getAttributes(rq *request) (int, any, *apiError) {
	u, r, e := s.attrRoute(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, s.attrReqs(u, r), nil
}

// attrReqs lists r's attributes with the values u stored last for r.
func (s *Sandbox) attrReqs(u *user, r *route) []masspay.AttrsRequirement {
	set := s.liveLast(u.UserToken + "|" + r.Token)
	out := make([]masspay.AttrsRequirement, 0, len(r.Attrs))
	for _, a := range r.Attrs {
		req := masspay.AttrsRequirement{Token: attrToken(r.Token, a.Type), Label: a.Label, Validation: a.Validation,
			ExpectedValue: a.Expected, Type: a.Type, InputType: "text"}
		if set != nil {
			req.AttrSetToken = set.token
			if v, ok := set.values[a.Type]; ok {
				req.Value, req.LastAttrValueUsed = v, true
			}
		}
		out = append(out, req)
	}
	return out
}

// storeAttributes validates each value against its attribute's regex and
// stores them in a new attribute set, or in attr_set_token's set when given.
// Values stored before for this user and route are carried over.
func (s *Sandbox) storeAttributes(rq *request) (int, any, *apiError) {
	u, r, e := s.attrRoute(rq)
	if e != nil {
		return 0, nil, e
	}
	var in masspay.AttrTxn
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if len(in.Values) == 0 {
		return 0, nil, badField("values", "required", "values is required")
	}
	byToken := map[string]attrSpec{}
	for _, a := range r.Attrs {
		byToken[attrToken(r.Token, a.Type)] = a
	}
	vals := map[string]string{}
	for _, v := range in.Values {
		a, ok := byToken[v.Token]
		if !ok {
			return 0, nil, badField("values.token", "unknown_attribute", "attribute token %q does not belong to destination %s", v.Token, r.Token)
		}
		if !a.re.MatchString(v.Value) {
			return 0, nil, badField(a.Type, "invalid_attribute", "%s (%s) does not match %s", a.Type, a.Label, a.Validation)
		}
		vals[a.Type] = v.Value
	}
	key := u.UserToken + "|" + r.Token
	var set *attrSet
	if in.AttrSetToken != "" {
		set = s.liveAttrSet(in.AttrSetToken)
		if set == nil || set.userToken != u.UserToken || set.destToken != r.Token {
			return 0, nil, badField("attr_set_token", "unknown_attr_set", "attr_set_token %q does not belong to this user and destination", in.AttrSetToken)
		}
	} else {
		set = &attrSet{token: "attr_set_" + s.uuid(), userToken: u.UserToken, destToken: r.Token, values: map[string]string{}}
		if prev := s.liveLast(key); prev != nil {
			for k, v := range prev.values {
				set.values[k] = v
			}
		}
		s.attrSets[set.token] = set
	}
	for k, v := range vals {
		set.values[k] = v
	}
	s.lastAttrSet[key] = set
	s.touchAttrSet(set, key)
	return http.StatusOK, masspay.AttrTxnResp{AttrSetToken: set.token}, nil
}

// liveAttrSet is the attribute set tok names, nil when there is none or it
// was revoked.
func (s *Sandbox) liveAttrSet(tok string) *attrSet {
	if set := s.attrSets[tok]; set != nil && !set.revoked {
		return set
	}
	return nil
}

// liveLast is the latest attribute set of user|destination key, nil when
// there is none or it was revoked.
func (s *Sandbox) liveLast(key string) *attrSet {
	if set := s.lastAttrSet[key]; set != nil && !set.revoked {
		return set
	}
	return nil
}

// RevokeAttributes invalidates every attribute set stored for userToken, as
// MassPay does when a payee's stored payout details are removed: their
// tokens are refused from then on (initiate and store answer 400
// unknown_attr_set), the attribute requirements show no stored values, and
// a payout initiated with one before answers its commit addtl_attr_req. It
// returns how many sets it revoked.
func (s *Sandbox) RevokeAttributes(userToken string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userToken] == nil {
		return 0, fmt.Errorf("revoke attributes: %w", ErrNotFound)
	}
	n := 0
	for _, set := range s.attrSets {
		if set.userToken == userToken && !set.revoked {
			set.revoked = true
			s.touchAttrSet(set, "")
			n++
		}
	}
	s.ver.Add(1)
	return n, nil
}

// missingAttrs reports whether set lacks a value required by r.
func missingAttrs(r *route, set *attrSet) bool {
	for _, a := range r.Attrs {
		if set == nil || set.values[a.Type] == "" {
			return true
		}
	}
	return false
}
